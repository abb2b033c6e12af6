"""The syslog sink against a real rsyslog (Debian's rsyslogd): the local socket form and RFC 5424 over UDP.

rsyslogd runs in the foreground with a generated configuration: an imuxsock
socket in a temporary directory (the system's /dev/log is left alone), an
imudp input on 127.0.0.1, and every message written to a file through a
template of the fields rsyslog parsed: input, app-name, severity, facility
and the message. What rsyslog parses is what a NIM master's syslog shows.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nimwatch.alerts.message import severity_of, summary
from nimwatch.alerts.syslog import LOCAL_MAX, SyslogSink, format_local
from nimwatch.config.alerts import SinkSpec, SyslogOptions
from nimwatch.core.rules import RuleSet

from .test_sinks import AlertRig
from .watchkit import failing_run, wait_for

RSYSLOGD = shutil.which("rsyslogd") or ("/usr/sbin/rsyslogd" if os.path.exists("/usr/sbin/rsyslogd") else None)
SEVERITY_TEXT = {"error": "err", "warning": "warning", "info": "info"}


@dataclass
class Parsed:
    input: str
    app_name: str
    severity: str
    facility: str
    msg: str


class Rsyslog:
    def __init__(self, workdir: Path, out: Path, sock: Path, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.workdir, self.out, self.socket, self.port, self.proc = workdir, out, sock, port, proc

    def parsed(self) -> list[Parsed]:
        if not self.out.exists():
            return []
        rows = []
        for line in self.out.read_bytes().decode("utf-8").splitlines():
            fields = line.split("|", 4)
            if len(fields) == 5 and "nimwatch-probe" not in fields[4]:
                rows.append(Parsed(*fields))
        return rows

    def probed(self) -> bool:
        return self.out.exists() and self.out.read_bytes().count(b"nimwatch-probe") >= 2


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    if RSYSLOGD is None:
        pytest.skip("rsyslogd is not installed (apt-get install rsyslog)")
    work = tmp_path / "rsyslog"
    work.mkdir()
    sock, out, port = work / "log.sock", work / "parsed.txt", _udp_port()
    conf = work / "rsyslog.conf"
    conf.write_text(
        f"""
global(workDirectory="{work}")
module(load="imuxsock" SysSock.Use="off")
module(load="imudp")
input(type="imuxsock" Socket="{sock}" RateLimit.Interval="0")
input(type="imudp" Address="127.0.0.1" Port="{port}")
template(name="fields" type="string"
         string="%inputname%|%app-name%|%syslogseverity-text%|%syslogfacility-text%|%msg%\\n")
*.* action(type="omfile" file="{out}" template="fields")
"""
    )
    log = open(work / "rsyslogd.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [RSYSLOGD, "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")], stdout=log, stderr=subprocess.STDOUT
    )
    daemon = Rsyslog(work, out, sock, port, proc)
    try:

        def ready() -> bool:  # both inputs answer: a probe sent to each shows up in the output
            if proc.poll() is not None:
                return True
            if sock.exists():
                try:
                    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                        s.sendto(b"<14>probe: nimwatch-probe unix", str(sock))
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                        u.sendto(b"<14>probe: nimwatch-probe udp", ("127.0.0.1", port))
                except OSError:
                    return False
            return daemon.probed()

        wait_for(ready, timeout=30, what="rsyslogd to take messages on its socket and UDP port")
        if proc.poll() is not None:
            pytest.fail("rsyslogd exited: " + (work / "rsyslogd.log").read_text(errors="replace"))
        yield daemon
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_local_socket_alerts_are_parsed_right_by_rsyslog(rules: RuleSet, tmp_path: Path, rsyslog: Rsyslog) -> None:
    rig = AlertRig(
        rules, tmp_path, f"alerts:\n  - type: syslog\n    socket: {rsyslog.socket}\n    facility: local3\n"
    )
    try:
        rig.feed("lpar1", failing_run("lpar1", 2))
        expected = rig.expected()
        assert len(expected) >= 3 and {n.event for n in expected} >= {"finding", "run_finished"}
        wait_for(lambda: len(rsyslog.parsed()) == len(expected), what="rsyslog to write every alert")
        for row, notice in zip(rsyslog.parsed(), expected):
            assert row.input == "imuxsock"
            assert row.app_name == "nimwatch"  # not the version number (RFC 5424) or a host name
            assert row.facility == "local3"
            assert row.severity == SEVERITY_TEXT[severity_of(notice)]
            assert row.msg.lstrip(" ") == summary(notice)
    finally:
        rig.close()


def _send(options: SyslogOptions, message: str, severity: str = "error") -> None:
    sink = SyslogSink(SinkSpec("syslog-1", "syslog", options))
    pri = options.facility * 8 + {"error": 3, "warning": 4, "info": 6}[severity]
    sink.send({"pri": pri, "ts": 1_790_000_000.0, "msgid": "finding", "params": {"client": "lpar1"}, "message": message})


def test_a_long_message_is_cut_under_900_bytes_on_a_character_boundary(rsyslog: Rsyslog) -> None:
    long = "lpar1: error in phase 6: " + "fileset caf\u00e9 \u00e9chou\u00e9 " * 120 + "THE END"
    _send(SyslogOptions(socket=str(rsyslog.socket), format="rfc3164"), long)
    _send(SyslogOptions(socket=str(rsyslog.socket), format="rfc3164"), "line one\nline two\x1b[2J", "warning")
    wait_for(lambda: len(rsyslog.parsed()) == 2, what="rsyslog to write both messages")
    cut, multi = rsyslog.parsed()
    sent = format_local(27, "nimwatch", os.getpid(), long)
    assert len(sent) <= LOCAL_MAX and sent.endswith(b"...")
    assert (cut.app_name, cut.severity) == ("nimwatch", "err")
    text = cut.msg.lstrip(" ")
    assert text.endswith("...") and "THE END" not in text and long.startswith(text[:-3])
    assert "\ufffd" not in text  # the cut fell between characters
    assert (multi.app_name, multi.severity, multi.msg.lstrip(" ")) == ("nimwatch", "warning", "line one line two\\x1b[2J")


def test_udp_stays_rfc5424_and_rsyslog_parses_it(rsyslog: Rsyslog) -> None:
    options = SyslogOptions(address=("127.0.0.1", rsyslog.port), facility=19, app_name="nimwatch")
    _send(options, "lpar1: migration failed in phase 2 (caf\u00e9)")
    wait_for(lambda: len(rsyslog.parsed()) == 1, what="rsyslog to write the UDP message")
    (row,) = rsyslog.parsed()
    assert (row.input, row.app_name, row.severity, row.facility) == ("imudp", "nimwatch", "err", "local3")
    assert row.msg.lstrip("\ufeff") == "lpar1: migration failed in phase 2 (caf\u00e9)"  # RFC 5424's BOM kept by rsyslog


def test_rfc5424_on_the_socket_is_what_rsyslog_misparses(rsyslog: Rsyslog) -> None:
    """Why the socket default changed: rsyslog's socket input reads RFC 5424's version number as the app name."""
    _send(SyslogOptions(socket=str(rsyslog.socket), format="rfc5424", app_name="nimwatch"), "lpar1: x")
    wait_for(lambda: len(rsyslog.parsed()) == 1, what="rsyslog to write the message")
    assert rsyslog.parsed()[0].app_name == "1"
