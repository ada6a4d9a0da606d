"""run.lock: one writer per run folder; a dead owner's lock is taken over; the workers of a run's
owner join it through the environment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vlmq.errors import VlmqError
from vlmq.results.lock import MEMBER_ENV, RunLock

HOLD = ("import sys, time\nfrom vlmq.results.lock import RunLock\n"
        "RunLock(sys.argv[1]).acquire('r')\nprint('held', flush=True)\ntime.sleep(600)\n")


def test_a_live_owner_refuses_a_second_writer(tmp_path: Path) -> None:
    owner = RunLock(tmp_path / "r").acquire("r")
    assert owner.took_over is None
    other = RunLock(tmp_path / "r")
    with pytest.raises(VlmqError, match=rf"run 'r' is in use by another process \(pid "
                                        rf"{os.getpid()} on .* since .*\); wait"):
        other.acquire("r")
    with pytest.raises(VlmqError, match="in use"):
        other.check_free("r")
    owner.release()
    again = RunLock(tmp_path / "r").acquire("r")
    assert again.took_over is None  # a released lock is no one's: nothing to take over
    again.release()


def test_a_killed_owner_is_taken_over(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "r")],
                            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(VlmqError, match=f"pid {proc.pid} "):
        RunLock(tmp_path / "r").acquire("r")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lock = RunLock(tmp_path / "r")
    assert lock.holder() is None
    lock.acquire("r")
    assert lock.took_over["pid"] == proc.pid  # the stale owner, replaced
    assert lock.holder()["pid"] == os.getpid()
    lock.release()


def test_workers_of_the_owner_join_its_run(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    owner = RunLock(tmp_path / "r").acquire("r")
    monkeypatch.setenv(MEMBER_ENV, owner.member_env()[MEMBER_ENV])
    worker = RunLock(tmp_path / "r").acquire("r")
    assert worker.token == owner.token
    monkeypatch.setenv(MEMBER_ENV, f"{(tmp_path / 'r').resolve()}=forged")
    with pytest.raises(VlmqError, match="in use"):
        RunLock(tmp_path / "r").acquire("r")
    owner.release()
