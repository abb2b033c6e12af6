"""Benchmark: ``nimwatch report`` against ripgrep and grep on the same logs, and the scan engine alone.

Builds, in a temporary directory:

* ``big``: the 2M-line log (a complete run whose phase 6 is inflated, biglog.py);
* ``real``: a realistic log: the real-shaped phase 6 of ``sample_logs/big6_alt_mig.log``
  (installp verification, copyright notices, summaries) repeated to about 2M lines;
* ``many``: 200 logs of 10,000 lines each (the ``big`` shape), reported in one call (a directory), and
  ``many-joined``: the same 200 logs in one file (200 runs): the same lines, read as one log;
* ``dense-findings``: 1M message-number lines inside phase 6 (every line a finding);
* ``dense-runs``: a short failing run (19 lines) repeated 52,631 times (1M lines: hostile input).

For each, side by side in one run (the three commands take turns, ``--repeat`` times):
``nimwatch report --format json`` (a real subprocess: start-up, rule loading, parsing, JSON),
``rg -c`` over the catalog's patterns (every signature, structural line, fact, variant, marker and
counter regex; the few that need look-around are given without it, counted in the output) and
``grep -cF`` over the catalog's literals (what the scanners look for). Times are CPU (user + system
of the child), the minimum of the runs; peak RSS is the child's own maximum (measured by GNU time when it
is installed, see :data:`TIME`); JSON is the size of the report it wrote. Then:
``nimwatch report`` on a 19-line log (the fixed start-up), and, in this process, the cost per log of
a ``LogReader`` on the shared scanner set (what each of ``many``'s 200 logs adds).

The package's bytecode is compiled first (``compileall``) and the rules' parsed copies written
(:mod:`nimwatch.datacache`), as an installed copy has them after its first run.

``--engine`` adds a micro-benchmark of the scan engine alone (no parser): the text scanner the byte
scanner replaced, kept as the tests' oracle (``tests/textscan.py``: decode the block,
``text_candidates`` per window) against the byte scanner (``ByteScanner.candidates`` per window on the
bytes, candidate lines decoded), with line counting, for the phase the parser would be in; lines/s of
CPU in that inner loop, and the cost of building the scanners.

Needs ripgrep: ``apt-get install ripgrep`` (Debian/Ubuntu), or ``cargo install ripgrep``, or
``pip install ripgrep`` (a wheel with the ``rg`` binary). Without it the rg column is left out.

Run: ``python bench/report_throughput.py [--lines N] [--repeat K] [--only big,real,...] [--engine]``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # textscan: the text scanner, for --engine

from biglog import RULE, write_big_log  # noqa: E402

from nimwatch.core.scanner import required_literals  # noqa: E402
from nimwatch.rulefiles import load_rules  # noqa: E402

SAMPLE = ROOT / "sample_logs"


# --------------------------------------------------------------------------- logs


def write_real_log(path: Path, lines: int) -> int:
    """big6's phase 6 (a real-shaped installp transcript) repeated until about ``lines`` lines."""
    source = (SAMPLE / "big6_alt_mig.log").read_text(encoding="utf-8").splitlines()
    start = source.index("Executing nimadm phase 6.") + 2
    end = source.index("Executing nimadm phase 7.") - 1
    head, body, tail = source[:start], source[start:end], source[end:]
    repeats = max(1, (lines - len(head) - len(tail)) // len(body))
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("\n".join(head) + "\n")
        for _ in range(repeats):
            out.write("\n".join(body) + "\n")
        out.write("\n".join(tail) + "\n")
    return len(head) + repeats * len(body) + len(tail)


def write_dense_findings(path: Path, lines: int) -> int:
    head = [
        "Initializing the NIM master.",
        "Starting Alternate Disk Migration.",
        RULE,
        "Executing nimadm phase 6.",
        RULE,
    ]
    with path.open("w", encoding="ascii", newline="\n") as out:
        out.write("\n".join(head) + "\n")
        for i in range(lines):
            out.write(f"0503-{i % 1000:03d} installp: fileset bos.fs{i} message number {i}.\n")
    return len(head) + lines


def write_dense_runs(path: Path, runs: int) -> int:
    run = (SAMPLE / "fail1lvm_alt_mig.log").read_bytes()
    with path.open("wb") as out:
        for _ in range(runs):
            out.write(run)
    return runs * run.count(b"\n")


def write_many(directory: Path, logs: int, lines: int) -> int:
    directory.mkdir()
    total = 0
    for i in range(logs):
        total += write_big_log(directory / f"c{i:03d}_alt_mig.log", lines, client=f"c{i:03d}")
    return total


# --------------------------------------------------------------------------- catalog patterns for rg and grep


def catalog_patterns() -> tuple[list[str], int]:
    """Every regex the parser matches lines with, in a form ripgrep's default engine takes."""
    rules = load_rules()
    model = rules.model
    lines = model.lines
    pats = [lines.banner, *lines.run_start, lines.cleanup_master, lines.cleanup_client, lines.message_code]
    pats += [lines.no_script, lines.script_start, lines.script_end, lines.review, *lines.line_starts]
    pats += [f.pattern for f in model.facts] + [p for v in model.variants for p in v.detect]
    pats += [p for spec in model.phases for p in (*spec.markers, *(c.pattern for c in spec.counters))]
    pats += [s.pattern for s in rules.signatures]
    out, rewritten = [], 0
    for pat in pats:
        text = pat.pattern
        if "(?=" in text or "(?!" in text or "(?<" in text.replace("(?P<", ""):
            text = re.sub(r"\(\?<?[=!][^()]*\)", "", text)  # look-around dropped: rg's default engine has none
            rewritten += 1
        out.append(re.sub(r"\(\?P<\w+>", "(", text))  # one rg run combines them: group names would clash
    return sorted(set(out)), rewritten


def catalog_literals() -> list[str]:
    from nimwatch.core.parser import build_scanner

    scanners = build_scanner(load_rules())
    words: set[str] = set()
    for key in range(13):
        scanner = scanners.for_phase(key)
        words.update(scanner.literals)
        words.update(scanner.folded_literals)
        for item in scanner.slow_items:
            found = required_literals(item.pattern.pattern)
            words.update(found[0] if found else [])
    words.add("-")  # message numbers: grep -F cannot say NNNN-NNN; "-" is what the scanners anchor them on
    return sorted(words)


# --------------------------------------------------------------------------- measuring


Command = tuple[list[str], Path]
"""argv and the directory it runs in (``python -m nimwatch`` imports the nimwatch found there first)."""


class Output(NamedTuple):
    """What a child wrote on stdout: its size, a digest (to compare two reports) and its first bytes."""

    size: int
    digest: str
    head: bytes


def _gnu_time() -> str | None:
    found = shutil.which("time")
    if found is None:
        return None
    probe = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
    return found if "GNU" in probe.stdout + probe.stderr else None


TIME = _gnu_time()
"""GNU time (Debian: ``apt-get install time``): the child of a small process, whose peak RSS is its own.
A child forked from this benchmark has the benchmark's own RSS in ``ru_maxrss`` (Linux keeps the largest
RSS seen across exec): without GNU time the figure is an upper bound."""


def run_child(argv: list[str], cwd: Path = ROOT) -> tuple[float, int, Output]:
    """CPU seconds (user + system), peak RSS in KiB and stdout of one child process (which must not fail)."""
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file, tempfile.NamedTemporaryFile(
        "r"
    ) as usage_file:
        timed = [TIME, "-q", "-f", "%U %S %M", "-o", usage_file.name, *argv] if TIME else argv
        proc = subprocess.Popen(timed, stdout=out_file, stderr=err_file, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        if code not in (0, 1, 3):  # report: 1 a run failed, 3 did not finish; grep/rg: 1 no match
            raise SystemExit(f"{argv[0]} failed ({code}): {err_file.read()[:500]!r}")
        digest, size = hashlib.sha256(), 0
        head = out_file.read(4096)
        out_file.seek(0)
        for chunk in iter(lambda: out_file.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
        output = Output(size, digest.hexdigest(), head)
        if TIME:
            user, system, rss = usage_file.read().split()[-3:]
            return float(user) + float(system), int(rss), output
        return usage.ru_utime + usage.ru_stime, usage.ru_maxrss, output


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"


def best(argv: list[str], repeat: int) -> tuple[float, int, Output]:
    runs = [run_child(argv) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def side_by_side(commands: list[Command], repeat: int) -> list[tuple[float, int, Output]]:
    """Each command's minimum CPU seconds, peak RSS (KiB) and last output, the commands taking turns."""
    runs: list[list[tuple[float, int, Output]]] = [[] for _ in commands]
    for _ in range(repeat):
        for i, (argv, cwd) in enumerate(commands):
            runs[i].append(run_child(argv, cwd))
    return [(min(r[0] for r in rs), max(r[1] for r in rs), rs[-1][2]) for rs in runs]


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def min_cpu(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = cpu()
        fn()
        times.append(cpu() - start)
    return min(times)


# --------------------------------------------------------------------------- the engine alone


def _windows(buf: Any, nl: Any) -> list[tuple[int, int]]:
    """The parser's scan windows (at most MAX_WINDOW, ending at a line end)."""
    from nimwatch.core.parser import MAX_WINDOW

    spans, pos = [], 0
    while pos < len(buf):
        end = buf.find(nl, min(pos + MAX_WINDOW, len(buf) - 1))
        end = len(buf) if end < 0 else end + 1
        spans.append((pos, end))
        pos = end
    return spans


def _text_loop(scanner: Any, raw: bytes) -> int:
    """The text scanner: decode the whole block, scan it a window at a time, count lines, take each candidate line."""
    from textscan import needs_fold, text_candidates

    from nimwatch.core.scanner import fold

    block = raw.decode("utf-8")
    folded = fold(block) if needs_fold(scanner) else None
    count, counted = 0, 0
    for a, b in _windows(block, "\n"):
        for s in text_candidates(scanner, block, a, folded, b):
            count += block.count("\n", counted, s)
            counted = s
            block[s : block.find("\n", s)]
    return count + block.count("\n", counted)


def _byte_loop(scanner: Any, raw: bytes) -> int:
    """The byte scan: same windows on the bytes, count lines, decode only each candidate line."""
    from nimwatch.core.decoder import decode_line

    count, counted = 0, 0
    for a, b in _windows(raw, b"\n"):
        for s in scanner.candidates(raw, a, b):
            count += raw.count(b"\n", counted, s)
            counted = s
            decode_line(raw[s : raw.find(b"\n", s)])
    return count + raw.count(b"\n", counted)


def engine_bench(files: dict[str, Path], repeat: int) -> list[str]:
    from nimwatch.anchorfile import load_anchor_data
    from nimwatch.core.bytescan import ByteScannerSet
    from nimwatch.core.decoder import LineDecoder
    from nimwatch.core.parser import build_scanner

    rules = load_rules()
    out = [
        "| log | phase | lines | text scanner (test oracle) | byte scanner | speed-up | candidates |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    build_text = min_cpu(lambda: [build_scanner(rules).for_phase(k) for k in range(13)], repeat)
    texts = build_scanner(rules)
    data_anchor, _ = load_anchor_data()
    build_bytes = min_cpu(
        lambda: [ByteScannerSet(texts.for_phase, data_anchor).for_phase(k) for k in range(13)], repeat
    )
    bytes_set = ByteScannerSet(texts.for_phase, data_anchor)
    for name, path in files.items():
        raw = LineDecoder().feed_bytes(path.read_bytes()).data
        n = raw.count(b"\n")
        key = 0 if name == "dense-runs" else 6
        old, new = texts.for_phase(key), bytes_set.for_phase(key)

        text_loop = functools.partial(_text_loop, old, raw)
        byte_loop = functools.partial(_byte_loop, new, raw)
        assert text_loop() == byte_loop() == n
        cands = sum(len(new.candidates(raw, a, b)) for a, b in _windows(raw, b"\n"))
        t_old, t_new = min_cpu(text_loop, repeat), min_cpu(byte_loop, repeat)
        out.append(
            f"| {name} | {key} | {n:,} | {t_old * 1000:.0f} ms ({n / t_old / 1e6:.2f} M/s) "
            f"| {t_new * 1000:.0f} ms ({n / t_new / 1e6:.2f} M/s) | {t_old / t_new:.1f}x | {cands:,} |"
        )
    out.append("")
    out.append(
        f"Building the 13 phase scanners: text {build_text * 1000:.0f} ms; byte scanners on top of them "
        f"{build_bytes * 1000:.0f} ms (once per process when shared)."
    )
    return out


# --------------------------------------------------------------------------- per-log cost


def per_log_cost(repeat: int) -> tuple[float, float]:
    """Milliseconds of CPU per log for a LogReader on a shared scanner set: created alone, and reading
    a 19-line log (fail1lvm) to its end; the shared set is built (and warmed on every phase) first."""
    from nimwatch.anchorfile import load_anchor_data
    from nimwatch.core.reader import LogReader
    from nimwatch.core.scanset import build_scanner
    from nimwatch.core.state import LogState

    rules = load_rules()
    shared = build_scanner(rules, load_anchor_data()[0])
    for key in range(13):
        shared.bytes.for_phase(key)
    data = (SAMPLE / "fail1lvm_alt_mig.log").read_bytes()
    logs = 200

    def create() -> None:
        for i in range(logs):
            LogReader(rules, f"c{i}", shared)

    def read() -> None:
        for i in range(logs):
            reader = LogReader(rules, f"c{i}", shared)
            state = LogState(f"c{i}_alt_mig.log", f"c{i}")
            for event in [*reader.feed(data), *reader.close()]:
                state.apply(event)

    return min_cpu(create, repeat) * 1000 / logs, min_cpu(read, repeat) * 1000 / logs


# --------------------------------------------------------------------------- main


def compile_bytecode(root: Path = ROOT) -> None:
    """Compile nimwatch's bytecode (an installed copy has it; a checkout run with PYTHONDONTWRITEBYTECODE not)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(root / "nimwatch")],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dense-lines", type=int, default=1_000_000)
    parser.add_argument("--dense-runs", type=int, default=52_631)
    parser.add_argument("--logs", type=int, default=200, help="logs in the 'many' case")
    parser.add_argument("--only", default="big,real,many,dense-findings,dense-runs")
    parser.add_argument("--engine", action="store_true", help="also benchmark the scan engine alone")
    parser.add_argument("--no-report", action="store_true", help="skip the subprocess comparison")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        type=Path,
        help="another nimwatch source tree (e.g. `git archive main | tar -x -C DIR`): its report is timed too",
    )
    args = parser.parse_args()
    wanted = args.only.split(",")
    rg = shutil.which("rg")
    compile_bytecode()
    if args.baseline:
        args.baseline = args.baseline.resolve()
        compile_bytecode(args.baseline)
    nimwatch = [sys.executable, "-m", "nimwatch", "report", "--no-state", "--format", "json"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cases: dict[str, tuple[Path, int]] = {}
        if "big" in wanted:
            cases["big"] = (tmp / "big_alt_mig.log", write_big_log(tmp / "big_alt_mig.log", args.lines))
        if "real" in wanted:
            cases["real"] = (tmp / "real_alt_mig.log", write_real_log(tmp / "real_alt_mig.log", args.lines))
        if "many" in wanted:
            cases["many"] = (tmp / "many", write_many(tmp / "many", args.logs, args.lines // args.logs))
            joined = tmp / "joined_alt_mig.log"
            with joined.open("wb") as joined_file:
                for log in sorted((tmp / "many").glob("*_alt_mig.log")):
                    joined_file.write(log.read_bytes())
            cases["many-joined"] = (joined, cases["many"][1])
        if "dense-findings" in wanted:
            path = tmp / "densef_alt_mig.log"
            cases["dense-findings"] = (path, write_dense_findings(path, args.dense_lines))
        if "dense-runs" in wanted:
            path = tmp / "denser_alt_mig.log"
            cases["dense-runs"] = (path, write_dense_runs(path, args.dense_runs))
        patterns, rewritten = catalog_patterns()
        (tmp / "patterns.txt").write_text("\n".join(patterns) + "\n", encoding="utf-8")
        (tmp / "literals.txt").write_text("\n".join(catalog_literals()) + "\n", encoding="utf-8")
        print(f"Python {sys.version.split()[0]}; CPU seconds (user+system), minimum of {args.repeat}, side by side")
        print(f"rg: {len(patterns)} catalog patterns ({rewritten} without their look-around); grep -F: the literals")
        print()
        if not args.no_report:
            per_line: dict[str, float] = {}
            before = "| baseline | lines/s | peak RSS | JSON | same JSON " if args.baseline else ""
            print(f"| log | lines | size {before}| nimwatch report | lines/s | peak RSS | JSON | rg -c ", end="")
            print("| grep -cF | nimwatch speed / rg | nimwatch speed / grep |")
            print("|---|---:|---:" + "|---:" * (5 if args.baseline else 0) + "|---:" * 8 + "|")
            for name, (path, lines) in cases.items():
                files = sorted(path.glob("*_alt_mig.log")) if path.is_dir() else [path]
                size = sum(f.stat().st_size for f in files)
                commands: list[Command] = [
                    ([*nimwatch, str(path)], ROOT),
                    (["grep", "-cF", "-f", str(tmp / "literals.txt"), *map(str, files)], ROOT),
                ]
                if rg:
                    rg_argv = [rg, "-c", "--no-filename", "-f", str(tmp / "patterns.txt"), *map(str, files)]
                    commands.append((rg_argv, ROOT))
                if args.baseline:
                    commands.append(([*nimwatch, str(path)], args.baseline))
                results = side_by_side(commands, args.repeat)
                # (GNU time counts in hundredths of a second: a tiny case may take "0")
                results = [(max(secs, 0.005), rss, output) for secs, rss, output in results]
                (n_secs, n_rss, out), (g_secs, _, _) = results[0], results[1]
                before = ""
                if args.baseline:
                    b_secs, b_rss, b_out = results[-1]
                    before = (
                        f"| {b_secs:.2f} s | {lines / b_secs / 1e6:.2f} M | {b_rss / 1024:.0f} MiB "
                        f"| {_size(b_out.size)} | {'yes' if b_out.digest == out.digest else 'no'} "
                    )
                assert out.head.lstrip().startswith(b"{"), out.head[:200]
                per_line[name] = n_secs / lines
                r_cell, ratio = "n/a", "n/a"
                if rg:
                    r_secs = results[2][0]
                    r_cell, ratio = f"{r_secs:.2f} s ({lines / r_secs / 1e6:.1f} M/s)", f"{r_secs / n_secs:.2f}x"
                print(
                    f"| {name} | {lines:,} | {size / 1e6:.0f} MB {before}"
                    f"| {n_secs:.2f} s | {lines / n_secs / 1e6:.2f} M "
                    f"| {n_rss / 1024:.0f} MiB | {_size(out.size)} | {r_cell} "
                    f"| {g_secs:.2f} s ({lines / g_secs / 1e6:.1f} M/s) "
                    f"| {ratio} | {g_secs / n_secs:.2f}x |"
                )
            print()
            if "many" in per_line:
                print(
                    f"{args.logs} logs in one call vs the same lines in one file (many-joined): "
                    f"{per_line['many'] / per_line['many-joined']:.2f}x the CPU per line",
                    end="",
                )
                if "big" in per_line:
                    print(f"; vs the big log: {per_line['many'] / per_line['big']:.2f}x", end="")
                print()
            tiny, _, _ = best([*nimwatch, str(SAMPLE / "fail1lvm_alt_mig.log")], args.repeat)
            if args.baseline:
                tiny_before = side_by_side([([*nimwatch, str(SAMPLE / "fail1lvm_alt_mig.log")], args.baseline)], 3)
                print(f"Fixed start-up of the baseline: {tiny_before[0][0] * 1000:.0f} ms CPU")
            created, read = per_log_cost(args.repeat)
            print(f"Fixed start-up (nimwatch report on a 19-line log): {tiny * 1000:.0f} ms CPU")
            print(
                f"Per log on the shared scanner set: {created:.2f} ms to create its reader, {read:.2f} ms to "
                "create it and read a 19-line log"
            )
            print()
        if args.engine:
            single = {name: path for name, (path, _) in cases.items() if path.is_file()}
            print("\n".join(engine_bench(single, args.repeat)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
