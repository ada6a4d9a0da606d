"""One writer per run folder: `run.lock` names the process that owns the run.

The file holds the owner's host, pid, start time and a random token (JSON, for messages); the
ownership itself is an exclusive `flock` on that file, which the kernel drops when the process
dies, even under `kill -9`. So a lock left behind by a dead process is stale by construction:
the next process takes it over (and says whose it was), while a second process on a live run
is refused at once with one line. The file is never deleted (deleting a flocked file lets two
processes lock two different inodes); a released lock is simply an unlocked file.

Several processes of one run (the xdist workers of a scale-out run): the controller acquires
the lock and hands `member_env()` to its workers; a worker's `acquire()` then joins instead of
locking, provided the token in its environment is the one in the file and the file is still
locked by a live owner. Workers never write the lock file.

Limits: flock is per host; on a network filesystem mounted by several hosts it may not be
honoured, so there the host recorded in the file is only informative. Needs POSIX (fcntl).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any

from vlmq.errors import VlmqError

LOCK_NAME = "run.lock"
# set for the workers of a run that a controller owns: "<run folder>=<token>"
MEMBER_ENV = "VLMQ_RUN_MEMBER"


class RunLock:
    """The lock of one run folder; `acquire()` once, held until `release()` or process exit."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None
        self.token = ""
        self.took_over: dict[str, Any] | None = None  # the stale holder replaced, if any

    def holder(self) -> dict[str, Any] | None:
        """Who holds this run now (host, pid, started), or None when nobody does."""
        if not self.path.is_file():
            return None
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(self.path)
        finally:
            os.close(fd)  # closing drops the probe's lock, if it got one
        return None

    def check_free(self, run_id: str) -> None:
        """Raise the one-line 'in use' error when another live process holds this run."""
        if self._member_token() is not None:
            return
        owner = self.holder()
        if owner is not None:
            raise VlmqError(_in_use(run_id, owner))

    def acquire(self, run_id: str) -> RunLock:
        """Own the run (or join it as a worker of its owner); VlmqError when it is in use."""
        member = self._member_token()
        if member is not None:
            self.token = member
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise VlmqError(_in_use(run_id, _read(self.path))) from None
        previous = _read(self.path)
        self.took_over = previous or None  # an unlocked file with an owner: it died
        self.token = secrets.token_hex(8)
        me = {"host": socket.gethostname(), "pid": os.getpid(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "token": self.token}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        os.fsync(fd)
        self._fd = fd
        return self

    def member_env(self) -> dict[str, str]:
        """Environment for a worker process that is to write to this run under our lock."""
        return {MEMBER_ENV: f"{self.run_dir.resolve()}={self.token}"}

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # nobody owns it now
            os.close(self._fd)
            self._fd = None

    def _member_token(self) -> str | None:
        """Our owner's token when this process is a worker of the run's live owner."""
        folder, sep, token = os.environ.get(MEMBER_ENV, "").rpartition("=")
        if not sep or Path(folder) != self.run_dir.resolve():
            return None
        owner = self.holder()
        return token if owner is not None and owner.get("token") == token else None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _in_use(run_id: str, owner: dict[str, Any]) -> str:
    who = (f"pid {owner.get('pid', '?')} on {owner.get('host', '?')} since "
           f"{owner.get('started', '?')}")
    return (f"run {run_id!r} is in use by another process ({who}); wait for it to end or pass "
            "another --vlmq-run-id")
