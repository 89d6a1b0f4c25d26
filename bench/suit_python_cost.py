"""Python work per envelope of row 1 of suit_bench.py, counted in instructions by callgrind.

Timings on a shared 2-core machine move by 10 % from run to run; instruction counts do not (the
same count twice, whatever else runs). This counts the instructions of one
decode + verify + validate of the spec's example 1 with the ECDSA verification itself replaced
by a no-op, i.e. the work that iotsec adds around ``cryptography``'s verify: run it before and
after a change to the decoder. Needs valgrind (`make sysdeps`).

    python bench/suit_python_cost.py          # prints "python side: N k instructions per envelope"
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "suit" / "manifest-spec"
ROUNDS = 200


def _loop(rounds: int) -> None:
    from iotsec.core.cose import CoseKey, _sig
    from iotsec.core.suit import builder, codec
    from iotsec.core.suit.auth import authenticate, sign_envelope
    from iotsec.core.suit.processor import resolve_sequences
    from iotsec.core.suit.validate import check_manifest

    key = CoseKey.load((VECTORS / "private_key.pem").read_bytes())
    pub = key.public()
    blob = codec.encode(
        sign_envelope(builder.build(json.loads((VECTORS / "example1.json").read_text())), keys=[(key, -7)])
    )

    class NoVerify:  # stands for the EC public key: the verification costs nothing here
        def verify(self, *_: object) -> None:
            return None

    _sig._EC_PUBLIC_TYPES.add(NoVerify)
    pub._public = NoVerify()  # type: ignore[assignment]

    def one() -> None:
        env, _ = authenticate(blob, [pub])
        check_manifest(env.manifest, resolve_sequences(env))

    for _ in range(50):  # warm-up: imports, caches, first-call paths
        one()
    for _ in range(rounds):
        one()


def _count(rounds: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                sys.executable,
                __file__,
                "--loop",
                str(rounds),
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},  # dict layouts move the count by +-3 % otherwise
        )
    m = re.search(r"Collected : (\d+)", proc.stderr)
    assert m, proc.stderr[-2000:]
    return int(m.group(1))


def main() -> None:
    if sys.argv[1:2] == ["--loop"]:
        _loop(int(sys.argv[2]))
        return
    per = (_count(ROUNDS) - _count(0)) / ROUNDS
    print(f"python side: {per / 1000:.1f} k instructions per envelope (ECDSA verify stubbed; callgrind)")


if __name__ == "__main__":
    main()
