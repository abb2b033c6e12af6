"""Files and directories nimwatch cannot read: one clear line each, the rest processed, exit status 2.

The same for ``report``, ``watch --once``, ``replay`` and ``status``. Permissions cannot stop root,
so each command runs in a forked child that dropped to ``nobody`` (the interpreter is already loaded:
the child needs no file outside the test's own directory). Binary and empty logs are said to be what
they are, with the same exit status in ``report`` and ``replay``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import SAMPLE_LOGS

from nimwatch.cli import main

FAILED = SAMPLE_LOGS / "fail1lvm_alt_mig.log"


def _warm_up(tmp: Path) -> None:
    """Run each command once as root so that every module it imports lazily is loaded before the fork."""
    state = tmp / "warm.db"
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
        main(["report", str(FAILED)])
        main(["report", "--format", "json", str(FAILED)])
        main(["status", str(FAILED)])
        main(["replay", "--headless", "--max", str(FAILED)])
        main(["watch", "--once", "--state", str(state), str(FAILED)])


def as_nobody(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """``nimwatch ARGS`` in a forked child running as nobody: (exit status, stdout, stderr)."""
    nobody = pwd.getpwnam("nobody")
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.close(out_r)
            os.close(err_r)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.chdir(cwd)
            os.environ["NIMWATCH_STATE"] = str(cwd / "state" / "state.db")
            os.environ["HOME"] = str(cwd)
            os.environ["XDG_CONFIG_HOME"] = str(cwd / "state")
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            code = main(args)
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            traceback.print_exc()  # shows in the test's failure: the child has no other way to say it
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(out_w)
    os.close(err_w)
    chunks: dict[int, bytes] = {}

    def drain(fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            chunks[fd] = pipe.read()

    readers = [threading.Thread(target=drain, args=(fd,)) for fd in (out_r, err_r)]
    for reader in readers:
        reader.start()
    _, status = os.waitpid(pid, 0)
    for reader in readers:
        reader.join(timeout=60)
    assert os.WIFEXITED(status), status
    return os.WEXITSTATUS(status), chunks[out_r].decode(), chunks[err_r].decode()


@pytest.fixture
def tree() -> Iterator[Path]:
    """A directory others may enter: readable logs, an unreadable one, a locked and an unlistable directory."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to another user (permissions do not stop root)")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no 'nobody' user")
    work = Path(tempfile.mkdtemp(prefix="nimwatch-unreadable-"))
    try:
        work.chmod(0o755)
        _warm_up(work)
        logs = work / "logs"
        logs.mkdir(mode=0o755)
        shutil.copy(FAILED, logs / "good_alt_mig.log")
        (logs / "good_alt_mig.log").chmod(0o644)
        shutil.copy(FAILED, logs / "secret_alt_mig.log")
        (logs / "secret_alt_mig.log").chmod(0o000)
        locked = work / "locked"
        locked.mkdir(mode=0o700)
        shutil.copy(FAILED, locked / "inner_alt_mig.log")
        noread = work / "noread"
        noread.mkdir(mode=0o711)  # others may enter it, not list it
        shutil.copy(FAILED, noread / "hidden_alt_mig.log")
        state = work / "state"
        state.mkdir()
        os.chown(state, pwd.getpwnam("nobody").pw_uid, -1)
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _paths(work: Path) -> list[str]:
    return [str(work / "logs"), str(work / "locked" / "inner_alt_mig.log"), str(work / "noread"), str(work / "locked")]


def _says_each_once(err: str, work: Path, listing: str) -> None:
    assert "Traceback" not in err, err
    wanted = [
        f"{work}/logs/secret_alt_mig.log: cannot ",
        f"{work}/locked/inner_alt_mig.log: cannot ",
        f"{work}/noread: {listing}",
        f"{work}/locked: {listing}",
    ]
    for want in wanted:
        assert sum(f"nimwatch: {want}" in line for line in err.splitlines()) == 1, (want, err)
    assert all("Permission denied" in line for line in err.splitlines() if any(w in line for w in wanted))


def test_report(tree: Path) -> None:
    code, out, err = as_nobody(["report", "--format", "json", *_paths(tree)], tree)
    assert code == 2
    _says_each_once(err, tree, "cannot list the directory")
    assert [r["client"] for r in json.loads(out)["runs"]] == ["good"]


def test_watch_once(tree: Path) -> None:
    code, out, err = as_nobody(["watch", "--once", *_paths(tree)], tree)
    assert code == 2, err
    _says_each_once(err, tree, "cannot list")
    events = [json.loads(line) for line in out.splitlines()]
    assert {e["client"] for e in events if e["event"] == "run_finished"} == {"good"}


def test_replay(tree: Path) -> None:
    code, out, err = as_nobody(["replay", "--headless", "--max", *_paths(tree)], tree)
    assert code == 2, err
    _says_each_once(err, tree, "cannot list the directory")
    events = [json.loads(line) for line in out.splitlines()]
    assert {e["client"] for e in events} == {"good"}


def test_status(tree: Path) -> None:
    code, out, err = as_nobody(["status", "--ascii", *_paths(tree)], tree)
    assert code == 2, err
    _says_each_once(err, tree, "cannot list the directory")
    assert "good" in out and "secret" not in out


@pytest.mark.parametrize(
    ("content", "message", "code"),
    [(b"", "empty file: no nimadm output yet", 3), (bytes(range(256)) * 64, "binary data, not a nimadm log", 2)],
    ids=["empty", "binary"],
)
def test_binary_and_empty_logs_are_said_to_be_so_with_one_exit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str, code: int
) -> None:
    log = tmp_path / "odd_alt_mig.log"
    log.write_bytes(content)
    codes = []
    for args in (["report", str(log)], ["replay", "--headless", "--max", str(log)]):
        codes.append(main(args))
        err = capsys.readouterr().err
        assert f"nimwatch: {log}: {message}" in err and "Traceback" not in err
    assert codes == [code, code]
