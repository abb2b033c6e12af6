"""``nimwatch anchors [--update] [LOG...]``: show or recompute the byte scan's anchors (``phases/anchors.yaml``).

Without ``--update`` it says whether the stored anchors fit the built-in rules
and lists each phase's anchor bytes. With ``--update`` it measures byte
frequencies on the given logs (default: the sample logs of a checkout) and
rewrites the file (or ``--output FILE``). Exit 0; 2 on a usage or file error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nimwatch.errors import ExitCode, UsageError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "anchors",
        help="show or recompute the scan anchors stored with the rules (phases/anchors.yaml)",
        description="Show whether the byte scan's stored anchors fit the built-in rules, or recompute them.",
    )
    p.add_argument("--update", action="store_true", help="measure byte frequencies and rewrite the anchors file")
    p.add_argument("--output", metavar="FILE", help="write here instead of phases/anchors.yaml")
    p.add_argument("logs", nargs="*", metavar="LOG", help="logs (or directories) to measure (default: sample logs)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nimwatch import anchorfile
    from nimwatch.core.anchors import choose_anchors
    from nimwatch.rulefiles import load_rules

    rules = load_rules()
    path = anchor_path = anchorfile.anchor_path()
    if args.update:
        corpus = anchorfile.corpus_files(args.logs) if args.logs else anchorfile.default_corpus()
        missing = [p for p in corpus if not p.is_file()]
        if missing or not corpus:
            raise UsageError(
                f"cannot read {printable(str(missing[0]))}" if missing else "no logs to measure: name some logs"
            )
        name = "sample_logs/*_alt_mig.log" if not args.logs else ""
        content = anchorfile.compute(rules, corpus, name)
        path = Path(args.output) if args.output else anchor_path
        anchorfile.write(path, content)
        print(f"wrote {printable(str(path))}: catalog {content['catalog_hash']}, {content['corpus']}")
        return ExitCode.OK
    data = anchorfile.read_anchor_data(path)
    print(anchorfile.freshness(rules, data, path).message)
    for key, plan in anchorfile.plans(rules).items():
        anchors = choose_anchors(plan, data)
        shown = "".join(chr(b) for b in sorted(anchors.bytes))
        print(f"  {'before phase 1' if key == 0 else f'phase {key}':>14}: {printable(shown):<16} ({anchors.source})")
    return ExitCode.OK


def printable(text: str) -> str:
    """``text`` with anything but printable ASCII escaped (any terminal, any locale)."""
    return "".join(ch if ch.isascii() and ch.isprintable() else ascii(ch)[1:-1] for ch in text)
