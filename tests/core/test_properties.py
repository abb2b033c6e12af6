"""Property tests: no input crashes the parser, and chunking never changes the result.

A growing file is read in whatever pieces the tailer gets; a finished one in
big blocks. Both must give the same runs, phases, facts and findings.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import SAMPLE_LOGS, banner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textscan import TextDecoder, TextParser

from nimwatch.core.events import BadLine, Event
from nimwatch.core.parser import LogParser
from nimwatch.core.reader import LogReader
from nimwatch.core.rules import RuleSet
from nimwatch.core.state import LogState
from nimwatch.rulefiles import load_rules
from nimwatch.views.report_data import report_records

RULES = load_rules()
COALESCED = ("lines_read", "progress")
"""Events whose number depends on chunking (their final values do not)."""

SAMPLES = {p.name: p.read_bytes() for p in sorted(SAMPLE_LOGS.glob("*_alt_mig.log")) if p.stat().st_size < 300_000}
FRAGMENTS = [
    b"Initializing the NIM master.\n",
    banner(1).encode(),
    banner(6).encode(),
    banner(12).encode(),
    b"0505-187 nimadm: Error cloning altinst_rootvg on client.\n",
    b"Cleaning up alt_disk_migration on the NIM master.\n",
    b"Cleaning up alt_disk_migration on client lpar1.\n",
    b"Bootlist is set to the boot disk: hdisk1 blv=hd5\n",
    b"Filesets processed:  3 of 9  (Total time:  1 secs).\n",
    b"12 Total to be installed\n",
    b"Executing user customization script pre (/x).\n",
    b"User customization script pre completed with return code 3.\n",
    b"cannot access ./tmp/alt_lock: A file or directory in the path name does not exist.\n",
    b"\r\n",
    b"\x00\x00",
    b"\xff\xfe caf\xe9\n",
    b"x" * 200 + b" Creating logical volume alt_hd5 Creating logical volume alt_hd6 " + b"y" * 100 + b"\n",
    # issue 8: installp's structure, continuation lines, text around a log
    b"                    Pre-installation Verification...\n",
    b"FAILURES\n  SELECTED FILESETS:  The following\n    bos.a.b 7.3.0.0    # Error Log\n  << End of Failure Section >>\n",
    b"Installation Summary\n--------------------\n",
    b"bos.x                       7.3.0.0         USR         APPLY       FAILED\n",
    b"bos.y                       7.3.0.0         ROOT        APPLY       SUCCESS\n",
    b"    12  Total to be installed\n",
    b'0503-464 installp:  The installation has FAILED for the "usr" part\n        of the following filesets:\n',
    b"sysck: 3001-038 The name mail is not a known group for entry /usr/bin/bellmail.\n",
    b"0599-123 someprog: nobody catalogued this.\n",
    b"Ticket notes: attempt 1 failed with 0505-218, see below.\n",
    b"lpar1: A remote host refused an attempted connect operation.\n",
]


def run(data: bytes, cuts: list[int], max_line: int = 4096) -> tuple[list[Event], dict[str, Any]]:
    reader = LogReader(RULES, "lpar1", max_line=max_line)
    state = LogState("x_alt_mig.log", "lpar1")
    events: list[Event] = []
    pos = 0
    for cut in sorted(set(cuts)):
        events.extend(reader.feed(data[pos:cut]))
        pos = cut
    events.extend(reader.feed(data[pos:]))
    events.extend(reader.close())
    for event in events:
        state.apply(event)
    return [e for e in events if e.kind not in COALESCED], {"runs": report_records([state], RULES)}


def cut_points(size: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(min_value=0, max_value=size), max_size=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=5000), st.data())
def test_random_bytes_never_crash(data: bytes, draw: st.DataObject) -> None:
    cuts = draw.draw(cut_points(len(data)))
    _events, report = run(data, cuts, max_line=64)
    assert isinstance(report["runs"], list)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=60), max_size=40), st.data())
def test_chunked_equals_whole_on_log_like_input(parts: list[bytes], draw: st.DataObject) -> None:
    data = b"".join(parts)
    cuts = draw.draw(cut_points(len(data)))
    assert run(data, cuts) == run(data, [])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_chunked_equals_whole_on_sample_logs(name: str, draw: st.DataObject) -> None:
    data = SAMPLES[name]
    cuts = draw.draw(cut_points(len(data)))
    assert run(data, cuts, max_line=65536) == run(data, [], max_line=65536)


def test_byte_by_byte_equals_whole(rules: RuleSet) -> None:
    data = SAMPLES["fail11mb_alt_mig.log"][:20000] + SAMPLES["rerun02_alt_mig.log"][-8000:]
    assert run(data, list(range(len(data)))) == run(data, [])


def run_text(data: bytes, cuts: list[int], max_line: int = 4096) -> tuple[list[Event], dict[str, Any]]:
    """:func:`run` through the text path (``tests/textscan.py``): the decoder's text fed to ``TextParser.feed``."""
    decoder = TextDecoder(max_line)
    parser = TextParser(RULES, "lpar1")
    state = LogState("x_alt_mig.log", "lpar1")
    events: list[Event] = []
    pos = 0
    for cut in [*sorted(set(cuts)), len(data)]:
        block = decoder.feed(data[pos:cut] if cut >= pos else b"")
        pos = max(pos, cut)
        events.extend(BadLine(parser.line_no + i + 1, f"line of {n} bytes cut to {max_line}") for i, n in block.cut_lines)
        events.extend(parser.feed(block.text))
    block = decoder.flush()
    events.extend(BadLine(parser.line_no + i + 1, f"line of {n} bytes cut to {max_line}") for i, n in block.cut_lines)
    events.extend(parser.feed(block.text))
    events.extend(parser.close())
    for event in events:
        state.apply(event)
    return [e for e in events if e.kind not in COALESCED], {"runs": report_records([state], RULES)}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=60), max_size=40), st.data())
def test_text_path_equals_byte_path(parts: list[bytes], draw: st.DataObject) -> None:
    """``TextParser.feed(text)`` and ``feed_bytes`` (what LogReader uses) give the same events and report."""
    data = b"".join(parts)
    cuts = draw.draw(cut_points(len(data)))
    assert run_text(data, cuts) == run(data, cuts)


def test_text_path_equals_byte_path_on_sample_logs() -> None:
    for name, data in SAMPLES.items():
        assert run_text(data, [len(data) // 2], max_line=65536) == run(data, [len(data) // 2], max_line=65536), name


def test_phase6_progress_is_the_same_when_a_stretch_is_cut_between_its_counters() -> None:
    """The fuzz case: a ratio line then a total line; cut between them, the total came last either way."""
    data = (banner(6) + "Filesets processed:  3 of 9  (Total time:  1 secs).\n12 Total to be installed\n").encode()
    cut = data.index(b"12 Total")
    assert run(data, [cut]) == run(data, [])
    _events, report = run(data, [])
    (phase6,) = [p for p in report["runs"][0]["phases"] if p["number"] == 6]
    assert phase6["progress"] == {"done": 0, "total": 12, "unit": "filesets"}


TABLE_FRAGMENTS = [
    b"Installation Summary\n--------------------\n",
    b"Name                        Level           Part        Event       Result\n",
    b"-" * 79 + b"\n",
    b"bos.y                       7.3.0.0         ROOT        APPLY       SUCCESS\n",
    b"bos.w                       7.3.0.0         USR         COMMIT      SUCCESS\n",
    b"bos.z                       7.3.0.0         USR         CLEANUP     SUCCESS\n",
    b"bos.x                       7.3.0.0         USR         APPLY       FAILED\n",
    b"bos.c                       7.3.0.0         USR         APPLY       CANCELLED\n",
    b"bos.a 7.3.0.0 USR APPLY SUCCESS bos.b 7.3.0.0 ROOT APPLY SUCCESS\n",
    b"bos.a 7.3.0.0 USR APPLY SUCCESS bos.b 7.3.0.0 ROOT APPLY FAILED\n",
    b"caf\xc3\xa9.rte                    7.3.0.0         USR         APPLY       SUCCESS\n",
    b"\n",
    b"   \n",
    b"  bos.q 7.3.0.0                  # Error Log Fail\n",
    b"Some line that ends the table.\n",
    b"bos.long " + b"x" * 170 + b" 7.3.0.0 USR APPLY SUCCESS\n",
]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(TABLE_FRAGMENTS), max_size=30),
    st.sampled_from([banner(6).encode(), banner(6).encode() + b"0503-464 installp: x\n"]),
    st.data(),
)
def test_summary_rows_read_many_at_a_time_as_one_by_one(parts: list[bytes], head: bytes, draw: st.DataObject) -> None:
    """The Installation Summary rows that only say SUCCESS are read in stretches: the same as line by line."""
    data = b"Initializing the NIM master.\n" + head + b"Installation Summary\n" + b"".join(parts) + banner(7).encode()
    cuts = draw.draw(cut_points(len(data)))
    fast = run(data, cuts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LogParser, "_success_rows", lambda self, lines, pos, limit: pos)
        assert fast == run(data, cuts)
