"""``nimwatch check-rules [FILE...]``: validate signature files and test every signature on its examples.

Lists every problem at once (file, line and key for schema errors; then each
example that gives no finding or is taken by an earlier signature, and each
near miss that matches). Exit 0 when clean, 2 with problems.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nimwatch.errors import ConfigError, ExitCode


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "check-rules",
        help="check your own failure signatures (and the built-in ones) against their examples",
        description="Validate signature files and run every signature's examples and near misses through the parser.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="your signature files (none: check the built-in catalog)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nimwatch.core.validation import Problems
    from nimwatch.rulecheck import check_signatures
    from nimwatch.rulefiles import load_rules, load_signature_file
    from nimwatch.terminal import write

    schema: list[str] = []
    for path in args.files:
        problems = Problems(path)
        try:
            load_signature_file(Path(path), problems)
        except ConfigError as exc:
            schema.extend(exc.problems)
    if schema:
        write("".join(line + "\n" for line in schema))
        return ExitCode.USAGE
    rules = load_rules(args.files)
    own = {str(Path(p)) for p in args.files}
    targets = [s for s in rules.signatures if not own or s.origin in own]
    problems_found = check_signatures(rules, targets)
    if problems_found:
        write("".join(f"{problem}\n" for problem in problems_found))
        return ExitCode.USAGE
    with_examples = sum(1 for s in targets if s.examples)
    write(f"{len(targets)} signature(s) OK ({with_examples} with examples, all matched; near misses all missed)\n")
    if not args.files:  # does phases/anchors.yaml still fit the built-in rules? (stale: slower, never wrong)
        from nimwatch import anchorfile

        data, problem = anchorfile.load_anchor_data()  # a bad file gives no data, so it is not fresh either
        found = anchorfile.freshness(rules, data, anchorfile.anchor_path())
        write(f"{found.message}\n" if found.fresh else f"note: {problem or found.message}\n")
    return ExitCode.OK
