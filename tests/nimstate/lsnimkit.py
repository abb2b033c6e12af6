"""A stand-in ``lsnim`` on PATH that prints recorded ``-Z`` answers (see recorded/README.md).

The test chooses the answer with :meth:`StandInLsnim.answer` (a file renamed
into place, so the stand-in never reads half of it); every call is logged
with the locale it ran under.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

RECORDED = Path(__file__).resolve().parent / "recorded"

SCRIPT = """#!/bin/sh
# stand-in lsnim: the recorded answer named in $LSNIM_DIR/answer, for the client named last
for last; do :; done
echo "LC_ALL=$LC_ALL $*" >> "$LSNIM_DIR/calls"
name=$(cat "$LSNIM_DIR/answer")
if [ -f "$LSNIM_RECORDED/$name.err" ]; then
  sed "s/CLIENT/$last/g" "$LSNIM_RECORDED/$name.err" >&2
  exit 1
fi
sed "s/^CLIENT:/$last:/" "$LSNIM_RECORDED/$name.out"
"""


class StandInLsnim:
    """``<dir>/bin/lsnim``; :meth:`env` puts it first on PATH."""

    def __init__(self, root: Path, answer: str = "ready") -> None:
        self.dir = root / "lsnim"
        self.bin = self.dir / "bin"
        self.bin.mkdir(parents=True)
        script = self.bin / "lsnim"
        script.write_text(SCRIPT, encoding="ascii")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        self.answer(answer)

    def answer(self, name: str) -> None:
        """From now on the stand-in prints ``recorded/<name>.out`` (or fails with ``<name>.err``)."""
        assert (RECORDED / f"{name}.out").is_file() or (RECORDED / f"{name}.err").is_file(), name
        tmp = self.dir / "answer.tmp"
        tmp.write_text(name + "\n", encoding="ascii")
        os.replace(tmp, self.dir / "answer")

    def calls(self) -> list[str]:
        try:
            return (self.dir / "calls").read_text(encoding="ascii").splitlines()
        except FileNotFoundError:
            return []

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {
            **base,
            "PATH": f"{self.bin}{os.pathsep}{base.get('PATH', '')}",
            "LSNIM_DIR": str(self.dir),
            "LSNIM_RECORDED": str(RECORDED),
        }
