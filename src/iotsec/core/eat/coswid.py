"""Evidence CoSWID (RFC 9393 §2.9.4), the body of the EAT ``measurements`` claim (RFC 9711 §4.2.16).

Only what an attester needs to report files by digest: tag-id, software name/version, the creating
entity and ``evidence`` with ``file`` entries carrying ``fs-name``, ``size`` and ``hash``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, overload

from iotsec.core import cbor
from iotsec.core.eat._util import is_int
from iotsec.errors import ValidationError

COSWID_TAG = 1398229316  # RFC 9393 §8 tagged-coswid
SWID_CBOR_CONTENT_FORMAT = 258  # application/swid+cbor (RFC 9393 §6.2)
# RFC 9393 §2.3 integer labels used here
TAG_ID, SOFTWARE_NAME, ENTITY, EVIDENCE, TAG_VERSION, SOFTWARE_VERSION = 0, 1, 2, 3, 12, 13
FILE, HASH, SIZE, FS_NAME, ENTITY_NAME, ROLE = 17, 7, 20, 24, 31, 33
ROLE_TAG_CREATOR = 1
# IANA "Named Information Hash Algorithm Registry" ids (RFC 6920 §9.4)
HASH_SHA256, HASH_SHA384, HASH_SHA512 = 1, 7, 8
HASH_NAMES = {HASH_SHA256: "sha-256", HASH_SHA384: "sha-384", HASH_SHA512: "sha-512"}
HASH_SIZES = {HASH_SHA256: 32, HASH_SHA384: 48, HASH_SHA512: 64}


@dataclass(frozen=True)
class FileMeasurement:
    """A file entry of an evidence CoSWID: name, hash algorithm (named-information id), digest."""

    name: str
    alg: int
    digest: bytes
    size: int | None = None


@dataclass(frozen=True)
class EvidenceCoswid:
    """The parts of an evidence CoSWID the attester and verifier use."""

    tag_id: str
    software_name: str
    files: tuple[FileMeasurement, ...]
    software_version: str | None = None
    creator: str | None = None
    tag_version: int = 0


def encode(ev: EvidenceCoswid, *, tagged: bool = False) -> bytes:
    """Encode an evidence CoSWID (untagged by default, as the EAT measurements claim carries it)."""
    files = []
    for f in ev.files:
        entry: dict[int, Any] = {FS_NAME: f.name, HASH: [f.alg, f.digest]}
        if f.size is not None:
            entry[SIZE] = f.size
        files.append(entry)
    m: dict[int, Any] = {
        TAG_ID: ev.tag_id,
        TAG_VERSION: ev.tag_version,
        SOFTWARE_NAME: ev.software_name,
        EVIDENCE: {FILE: files},
    }
    if ev.software_version:
        m[SOFTWARE_VERSION] = ev.software_version
    if ev.creator:
        m[ENTITY] = {ENTITY_NAME: ev.creator, ROLE: ROLE_TAG_CREATOR}
    return cbor.dumps(cbor.tag(COSWID_TAG, m) if tagged else m)


def _bad(msg: str, *path: int | str) -> ValidationError:
    return ValidationError(msg, reason="coswid.invalid", path=path)


def decode(data: bytes) -> EvidenceCoswid:
    """Decode an evidence CoSWID, tagged or not. Raises DecodeError / ValidationError."""
    m, files = _parse(data)
    ver = m.get(SOFTWARE_VERSION)
    ent = m.get(ENTITY)
    creator = ent.get(ENTITY_NAME) if isinstance(ent, dict) else None
    tv = m.get(TAG_VERSION, 0)
    tag_id = m[TAG_ID]
    return EvidenceCoswid(
        tag_id=tag_id if isinstance(tag_id, str) else tag_id.hex(),
        software_name=m[SOFTWARE_NAME],
        files=tuple(FileMeasurement(n, a, d, s) for n, a, d, s in files),
        software_version=ver if isinstance(ver, str) else None,
        creator=creator if isinstance(creator, str) else None,
        tag_version=tv if is_int(tv) else 0,
    )


def file_digests(data: bytes) -> tuple[list[tuple[str, int, bytes]], str | None]:
    """The ``file`` entries of an evidence CoSWID as (fs-name, hash alg, digest), and its software
    version: what an appraisal compares. The same checks (and errors) as :func:`decode`."""
    m, files = _parse(data, sizes=False)
    ver = m.get(SOFTWARE_VERSION)
    return files, ver if isinstance(ver, str) else None


_NO_EVIDENCE: dict[Any, Any] = {}  # defaults: read, never changed
_NO_FILES: list[Any] = []


@overload
def _parse(
    data: bytes, *, sizes: Literal[True] = True
) -> tuple[dict[Any, Any], list[tuple[str, int, bytes, int | None]]]: ...
@overload
def _parse(data: bytes, *, sizes: Literal[False]) -> tuple[dict[Any, Any], list[tuple[str, int, bytes]]]: ...
def _parse(data: bytes, *, sizes: bool = True) -> tuple[dict[Any, Any], list[Any]]:
    """The CoSWID map (checked: tag-id, software-name) and its checked file entries: (fs-name, alg,
    digest, size) or, without ``sizes``, (fs-name, alg, digest) (the size is never refused)."""
    m = cbor.loads(data)
    if isinstance(m, cbor.CBORTag) and m.tag == COSWID_TAG:
        m = m.value
    if not isinstance(m, dict):
        raise _bad("a CoSWID is a map")
    tag_id, name = m.get(TAG_ID), m.get(SOFTWARE_NAME)
    if not isinstance(tag_id, (str, bytes)) or not isinstance(name, str):
        raise _bad("tag-id and software-name are required", TAG_ID)
    ev = m.get(EVIDENCE, _NO_EVIDENCE)
    if not isinstance(ev, dict):
        raise _bad("evidence must be a map", EVIDENCE)
    raw_files = ev.get(FILE, _NO_FILES)
    if isinstance(raw_files, dict):
        raw_files = [raw_files]
    if not isinstance(raw_files, list):
        raise _bad("file must be a map or an array of maps", EVIDENCE, FILE)
    files: list[Any] = []
    hash_sizes = HASH_SIZES
    for i, f in enumerate(raw_files):
        # the usual entry, exact types: {fs-name: text, hash: [int, bytes], ...}
        if type(f) is dict:
            fs_name, h = f.get(FS_NAME), f.get(HASH)
            if type(fs_name) is str and type(h) is list and len(h) == 2:
                alg, digest = h
                if type(alg) is int and type(digest) is bytes:
                    n = hash_sizes.get(alg)
                    if n is None or n == len(digest):
                        if sizes:
                            size = f.get(SIZE)
                            files.append((fs_name, alg, digest, size if is_int(size) else None))
                        else:
                            files.append((fs_name, alg, digest))
                        continue
        # anything else: the general checks, which name the problem
        if not isinstance(f, dict) or not isinstance(fs_name := f.get(FS_NAME), str):
            raise _bad("a file entry needs fs-name", EVIDENCE, FILE, i)
        h = f.get(HASH)
        if not isinstance(h, list) or len(h) != 2 or not is_int(h[0]) or not isinstance(h[1], bytes):
            raise _bad("a file entry needs hash [alg, value]", EVIDENCE, FILE, i)
        alg, digest = h
        if alg in hash_sizes and len(digest) != hash_sizes[alg]:
            raise _bad("the hash value has the wrong length for its algorithm", EVIDENCE, FILE, i)
        if sizes:
            size = f.get(SIZE)
            files.append((fs_name, alg, digest, size if is_int(size) else None))
        else:
            files.append((fs_name, alg, digest))
    return m, files


__all__ = [
    "HASH_SHA256",
    "SWID_CBOR_CONTENT_FORMAT",
    "EvidenceCoswid",
    "FileMeasurement",
    "decode",
    "encode",
    "file_digests",
]
