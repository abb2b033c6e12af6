"""Build hook: regenerate the man page and the shell completions from the argparse definitions.

Everything else about the package is in pyproject.toml. The generated files
(share/...) are also committed, and CI checks that they are current; this
hook makes a build from a changed tree ship pages that match its code.
The generator needs only the standard library.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithGeneratedDocs(build_py):
    def run(self) -> None:
        sys.path.insert(0, str(ROOT))
        try:
            from nimwatch.gendocs import write_all

            for path in write_all(ROOT):
                print(f"nimwatch: regenerated {path.relative_to(ROOT)}")
        finally:
            sys.path.remove(str(ROOT))
        super().run()


setup(cmdclass={"build_py": BuildWithGeneratedDocs})
