"""The filesystem component store (atomic generations, anti-rollback, recovery, names)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iotsec.agent.suit_store import (
    DirectoryFetcher,
    FileStore,
    component_file_name,
    parse_component_file_name,
)
from iotsec.errors import NotFoundError, PolicyError


def test_names_round_trip_and_stay_inside_the_store() -> None:
    for cid in [(b"\x00",), (b"usr", b"bin", b"env"), (b"..",), (b"a/b",), (b"x-00",), ()]:
        name = component_file_name(cid)
        assert "/" not in name and name not in (".", "..")
        assert parse_component_file_name(name) == cid
    long_id = (b"a" * 64,) * 5
    assert component_file_name(long_id).startswith("h-") and len(component_file_name(long_id)) < 100


def test_commit_rollback_and_generations(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "s")
    assert store.sequence_number is None
    store.begin()
    store.write((b"a",), b"one")
    store.write((b"b",), b"two")
    assert store.read((b"a",)) == b"one"  # read-your-writes before commit
    assert not (tmp_path / "s" / "current" / "components" / "a").exists()
    store.commit(1)
    assert store.sequence_number == 1 and store.read((b"b",)) == b"two"
    first = os.stat(tmp_path / "s" / "current" / "components" / "b").st_ino
    store.begin()
    store.write((b"a",), b"three")
    store.commit(2)
    # the unchanged component is the same inode (hard link), the changed one is new
    assert os.stat(tmp_path / "s" / "current" / "components" / "b").st_ino == first
    assert store.read((b"a",)) == b"three"
    with pytest.raises(PolicyError) as e:
        store.commit(2)
    assert e.value.reason == "suit.rollback"
    store.begin()
    store.write((b"a",), b"dropped")
    store.abort()
    assert FileStore(tmp_path / "s").read((b"a",)) == b"three"
    gens = sorted(p.name for p in (tmp_path / "s").iterdir() if p.name.startswith("gen-"))
    assert gens == ["gen-000001", "gen-000002"]  # the previous generation is kept


def test_recovery_removes_an_interrupted_commit(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "s")
    store.begin()
    store.write((b"a",), b"old")
    store.commit(1)
    # what a kill leaves behind at various points of a commit
    (tmp_path / "s" / ".tmp-999-000002" / "components").mkdir(parents=True)
    (tmp_path / "s" / ".tmp-999-000002" / "components" / "a").write_bytes(b"ne")
    (tmp_path / "s" / "gen-000002" / "components").mkdir(parents=True)
    os.symlink("gen-000002", tmp_path / "s" / "current.tmp")
    again = FileStore(tmp_path / "s")
    assert again.read((b"a",)) == b"old" and again.sequence_number == 1
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["current", "gen-000000", "gen-000001"]


def test_slots_and_swap(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "slots.json").write_text('{"x-00": 1}')
    store = FileStore(tmp_path / "s")
    assert store.slot((b"\x00",)) == 1 and store.slot((b"\x01",)) is None
    store.begin()
    store.write((b"a",), b"A")
    store.write((b"b",), b"B")
    store.commit(None)
    store.begin()
    store.swap((b"a",), (b"b",))
    store.commit(None)
    assert store.read((b"a",)) == b"B" and store.read((b"b",)) == b"A"


def test_directory_fetcher(tmp_path: Path) -> None:
    (tmp_path / "fw.bin").write_bytes(b"fw")
    f = DirectoryFetcher(tmp_path)
    assert f.fetch("https://example.com/path/fw.bin?x=1", None) == b"fw"
    assert f.fetch("#fw.bin", None) == b"fw"
    for uri in ("https://example.com/..", "https://example.com/", "https://example.com/missing.bin"):
        with pytest.raises(NotFoundError):
            f.fetch(uri, None)


def test_spec_examples_on_the_file_store(tmp_path: Path, shared_vectors: Path) -> None:
    from suit_helpers import realize
    from suit_vectors import IMAGE_A, IMAGE_B, SAMPLE_A, SAMPLE_B, load_example

    from iotsec.core.suit import codec
    from iotsec.core.suit.processor import DeviceIdentity, process

    ident = DeviceIdentity(
        frozenset({bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")}),
        frozenset({bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")}),
    )
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "file.bin").write_bytes(IMAGE_A)
    (tmp_path / "p" / "file1.bin").write_bytes(IMAGE_A)
    (tmp_path / "p" / "file2.bin").write_bytes(IMAGE_B)
    fetcher = DirectoryFetcher(tmp_path / "p")
    for name, images, expect in [
        (
            "example4",
            {SAMPLE_A: IMAGE_A, SAMPLE_B: IMAGE_A},
            {"x-00": IMAGE_A, "x-01": IMAGE_A, "x-02": IMAGE_A},
        ),
        ("example5", None, {"x-00": IMAGE_A, "x-01": IMAGE_B}),
    ]:
        env = realize(codec.decode(load_example(shared_vectors, name).signed), images)
        store = FileStore(tmp_path / name)
        r = process(
            env,
            trust_anchors=[],
            identity=ident,
            stored_sequence=store.sequence_number,
            now=0,
            store=store,
            fetcher=fetcher,
            authenticated=True,
        )
        assert r.ok, r.reason
        files = {p.name: p.read_bytes() for p in (tmp_path / name / "current" / "components").iterdir()}
        assert files == expect
        assert FileStore(tmp_path / name).sequence_number == env.manifest.sequence_number
