"""At the timeout every process a hook started dies: children that left its session (setsid) or were
orphaned by a double fork too. Real processes; each way of finding them (cgroup, /proc, ps)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from nimwatch.process import containment
from nimwatch.process.containment import Containment, cgroup_base, parse_ps, related
from nimwatch.process.runner import run_command

from .hookkit import pid_alive, wait_for, write_script

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}
HAVE_SETSID = shutil.which("setsid") is not None

ESCAPES = """#!/bin/sh
pids={pids}
sleep 300 & echo $! >> $pids                                  # a plain child
setsid sleep 300 < /dev/null > /dev/null 2>&1 & echo $! >> $pids   # left the session (its parent: the hook)
( sleep 300 < /dev/null > /dev/null 2>&1 & echo $! >> $pids ) # double fork: orphaned, still in the session
{detached}
echo started
sleep 300
"""
DETACHED = (
    "( setsid sh -c 'sleep 300 < /dev/null > /dev/null 2>&1 & echo $! >> '$pids < /dev/null > /dev/null 2>&1 & )"
    "  # double fork and setsid: found only through a cgroup"
)


def _run(tmp_path: Path, contain: str, detached: bool) -> list[int]:
    pids = tmp_path / "pids"
    script = write_script(tmp_path / "escape.sh", ESCAPES.format(pids=pids, detached=DETACHED if detached else ""))
    result = run_command([str(script)], env=ENV, stdin=b"", timeout=1.5, contain=contain)
    assert result.timed_out and "timed out after 1.5 s" in str(result.error), result
    assert "started" in result.output_tail
    return [int(x) for x in pids.read_text().split()]


@pytest.mark.skipif(not HAVE_SETSID, reason="the setsid command is needed to leave a session")
@pytest.mark.parametrize("contain", ["tree", "ps"])
def test_the_session_and_the_process_tree_are_ended(tmp_path: Path, contain: str) -> None:
    if contain == "tree" and not os.path.exists("/proc/self/stat"):
        pytest.skip("no Linux /proc here; the ps case covers this system")
    if contain == "ps" and shutil.which("ps") is None:
        pytest.skip("no ps command here (Debian: apt-get install procps)")
    pids = _run(tmp_path, contain, detached=False)
    assert len(pids) == 3
    wait_for(lambda: not any(pid_alive(p) for p in pids), what="every process the hook started to be gone")


@pytest.mark.skipif(not HAVE_SETSID, reason="the setsid command is needed to leave a session")
def own_cgroups() -> set[str]:
    """This process's command cgroups: other nimwatch processes on the machine (another test suite, a
    watcher) make and remove theirs in the same directory meanwhile."""
    base = cgroup_base()
    if base is None:
        return set()
    return {name for name in os.listdir(base) if name.startswith(f"nimwatch-cmd-{os.getpid()}-")}


def test_a_cgroup_ends_even_a_detached_double_fork(tmp_path: Path) -> None:
    if cgroup_base() is None:
        pytest.skip("no writable cgroup v2 for nimwatch here (a systemd service needs Delegate=yes)")
    before = own_cgroups()
    pids = _run(tmp_path, "auto", detached=True)
    assert len(pids) == 4
    wait_for(lambda: not any(pid_alive(p) for p in pids), what="every process the hook started to be gone")
    assert own_cgroups() == before  # its cgroup was removed


def test_a_normal_exit_leaves_a_background_child_running_and_removes_the_cgroup(tmp_path: Path) -> None:
    """Like sendmail delivering in the background: not ended when the hook exits (it holds no output)."""
    pid_file = tmp_path / "child.pid"
    script = write_script(
        tmp_path / "bg.sh", f"#!/bin/sh\nsleep 300 < /dev/null > /dev/null 2>&1 &\necho $! > {pid_file}\nexit 0\n"
    )
    before = own_cgroups()
    result = run_command([str(script)], env=ENV, stdin=b"", timeout=30)
    assert result.ok, result
    child = int(pid_file.read_text())
    try:
        assert pid_alive(child)
        assert own_cgroups() == before
    finally:
        os.kill(child, 9)


def test_ps_output_of_aix_and_linux_is_read() -> None:
    aix = "     PID    PPID     SID    PGID\n       1       0       1       1\n 4456722 3277278 4456722 4456722\n"
    assert parse_ps(aix, with_sid=True) == [(1, 0, 1, 1), (4456722, 3277278, 4456722, 4456722)]
    no_sid = "  PID  PPID  PGID\n  210   1  210\n  junk line\n"
    assert parse_ps(no_sid, with_sid=False) == [(210, 1, None, 210)]


def test_related_follows_parents_sessions_and_groups_but_never_nimwatch_itself() -> None:
    me, own_sid, own_pgid = os.getpid(), os.getsid(0), os.getpgid(0)
    table = [
        (me, 1, own_sid, own_pgid),
        (5000, me, 5000, 5000),  # the hook: its own session
        (5001, 5000, 5000, 5000),  # its child
        (5002, 5001, 5002, 5002),  # a grandchild that called setsid
        (5003, 1, 5002, 5002),  # orphaned, in the grandchild's session
        (5004, 1, 6000, 6000),  # unrelated
        (5005, 1, own_sid, own_pgid),  # in nimwatch's own session: never
    ]
    members, sids, _ = related(table, 5000, set(), set())
    assert members == {5000, 5001, 5002, 5003}
    assert own_sid not in sids
    # a later look, after 5002 exited: its session was remembered
    later = [row for row in table if row[0] != 5002]
    members, _, _ = related(later, 5000, sids, set())
    assert 5003 in members


def test_without_a_cgroup_the_tree_mode_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(containment, "_cgroup_base_cache", {"base": None})
    box = Containment("auto")
    assert box.kind == "tree" and box.preexec() is None


def test_the_command_itself_is_signalled_before_its_children(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell waiting on a child it started ends by the signal (a negative status), not by reporting its child's
    death (exit 143), even when the child would be signalled first and the shell ran before its own turn: the
    members come here child first, and each kill waits until its target is gone or a zombie (the race, widened)."""
    import signal
    import subprocess

    if not os.path.exists("/proc/self/stat"):
        pytest.skip("no Linux /proc here to tell a zombie")
    script = write_script(tmp_path / "waits.sh", f"#!/bin/sh\nsleep 300 & echo $! > {tmp_path}/child.pid\nwait\n")
    contain = Containment("tree")
    leader = subprocess.Popen([str(script)], env=ENV, start_new_session=True)
    contain.started(leader.pid)
    wait_for(lambda: (tmp_path / "child.pid").exists() and (tmp_path / "child.pid").read_text().strip() != "")
    child = int((tmp_path / "child.pid").read_text())
    monkeypatch.setattr(contain, "members", lambda: [child, leader.pid])  # the child first, as a set may give them
    real_kill = os.kill

    def kill_then_wait(pid: int, sig: int) -> None:
        real_kill(pid, sig)
        wait_for(lambda: not pid_alive(pid) or _zombie(pid), what=f"process {pid} to end")

    monkeypatch.setattr(containment.os, "kill", kill_then_wait)
    try:
        contain.signal_all(signal.SIGTERM)
        assert leader.wait(30) == -signal.SIGTERM
    finally:
        monkeypatch.undo()
        contain.kill_all()
        leader.wait(30)


def _zombie(pid: int) -> bool:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True
    return data[data.rfind(b")") + 2 : data.rfind(b")") + 3] == b"Z"
