#!/usr/bin/env python3
"""Fill a wheelhouse for installing nimwatch on a NIM master without network, compiler or platform wheels.

On a host with network (any OS, any Python 3.9+):

    python3 scripts/make_wheelhouse.py                 # -> dist/wheelhouse/
    scp -r dist/wheelhouse nim01:/tmp/nimwatch-wheelhouse

then on the NIM master (AIX Toolbox Python 3.9 or later):

    python3 -m venv /opt/nimwatch
    /opt/nimwatch/bin/pip install --no-index --find-links /tmp/nimwatch-wheelhouse \\
        -c /tmp/nimwatch-wheelhouse/constraints.txt nimwatch

The wheelhouse holds exactly the versions pinned in constraints/aix-py39.txt:
pure-Python wheels (py3-none-any) of every runtime dependency and of the build
tools, the sources of watchdog and PyYAML (their wheels are platform wheels,
none for AIX; both build without a compiler: watchdog has no native part on
AIX, PyYAML falls back to pure Python when its C extension does not compile),
a wheel of nimwatch itself, the constraints file and SHA256SUMS.

``--pin`` resolves the pins anew with a Python 3.9 (``--python``) and rewrites
the constraints file; review the diff before committing it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints" / "aix-py39.txt"
FROM_SOURCE = ("watchdog", "pyyaml")
"""Packages taken as sources: their wheels are platform wheels, and on AIX they build without a compiler."""
BUILD_TOOLS = ("setuptools>=77.0.3,<85", "cython", "wheel")
"""What the sources and nimwatch need to build, isolated, from the wheelhouse: watchdog has no pyproject.toml,
for which pip asks for setuptools and wheel; PyYAML declares setuptools and Cython (pure Python wheel)."""


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def read_pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not version.strip():
            sys.exit(f"{path}: not NAME==VERSION: {raw!r}")
        pins[_norm(name.strip())] = version.strip()
    return pins


def run(argv: list[str]) -> None:
    print("+", " ".join(argv), flush=True)
    subprocess.run(argv, check=True)


def make(dest: Path, constraints: Path, python_version: str) -> None:
    pins = read_pins(constraints)
    missing = [name for name in FROM_SOURCE if name not in pins]
    if missing:
        sys.exit(f"{constraints}: no pin for {', '.join(missing)}")
    dest.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    pure = [f"{name}=={version}" for name, version in sorted(pins.items()) if name not in FROM_SOURCE]
    run(
        [
            *pip, "download", "--no-deps", "--dest", str(dest),
            "--only-binary=:all:", "--platform", "any", "--implementation", "py", "--abi", "none",
            "--python-version", python_version, *pure,
        ]
    )  # fmt: skip
    sources = [f"{name}=={pins[name]}" for name in FROM_SOURCE]
    run([*pip, "download", "--no-deps", "--dest", str(dest), "--no-binary=:all:", *sources])
    run([*pip, "wheel", "--no-deps", "--wheel-dir", str(dest), str(ROOT)])
    shutil.copyfile(constraints, dest / "constraints.txt")
    sums = []
    for path in sorted(dest.iterdir()):
        if path.is_file() and path.name != "SHA256SUMS":
            sums.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}")
    (dest / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    platform = [p.name for p in dest.glob("*.whl") if not p.name.endswith("-none-any.whl")]
    if platform:
        sys.exit(f"platform wheels in the wheelhouse, unusable on AIX: {', '.join(platform)}")
    print(f"wheelhouse: {dest} ({len(sums) - 1} packages)")


def _resolve(python: str, requirements: list[str]) -> dict[str, str]:
    """What pip on ``python`` would install for ``requirements``, from the index, as {name: version}."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        run(
            [python, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
             "--report", str(report), *requirements]
        )  # fmt: skip
        data = json.loads(report.read_text(encoding="utf-8"))
    return {_norm(item["metadata"]["name"]): item["metadata"]["version"] for item in data["install"]}


def pin(python: str, constraints: Path) -> None:
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if version != "3.9":
        sys.exit(f"--pin needs a Python 3.9 (the oldest the AIX Toolbox ships), not {version}: give --python")
    runtime = _resolve(python, [str(ROOT)])
    runtime.pop("nimwatch", None)
    tools = _resolve(python, list(BUILD_TOOLS))
    lines = [
        "# Pins for the offline wheelhouse (scripts/make_wheelhouse.py): nimwatch's runtime dependencies",
        "# as pip resolves them on Python 3.9, the AIX Toolbox's oldest, plus the build tools for",
        "# watchdog and PyYAML (built from source on the master) and for nimwatch. Every version here",
        "# also runs on the Toolbox's newer Pythons. Regenerate: scripts/make_wheelhouse.py --pin --python python3.9",
        "",
        "# runtime",
        *(f"{name}=={version}" for name, version in sorted(runtime.items())),
        "",
        "# build tools",
        *(f"{name}=={version}" for name, version in sorted(tools.items()) if name not in runtime),
        "",
    ]
    constraints.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {constraints}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", default=str(ROOT / "dist" / "wheelhouse"), help="the wheelhouse directory")
    parser.add_argument("--constraints", default=str(CONSTRAINTS), help="the pins (NAME==VERSION lines)")
    parser.add_argument("--python-version", default="3.9", help="the oldest Python the wheels must run on")
    parser.add_argument("--pin", action="store_true", help="resolve the pins anew and rewrite the constraints file")
    parser.add_argument("--python", default="python3.9", help="with --pin: a Python 3.9 to resolve with")
    args = parser.parse_args()
    if args.pin:
        pin(args.python, Path(args.constraints))
    else:
        make(Path(args.dest), Path(args.constraints), args.python_version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
