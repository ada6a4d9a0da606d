"""The run folder of a session: created on first use (collecting benchmarks writes nothing),
held by this process's lock until the session closes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vlmq.results.lock import RunLock
from vlmq.results.store import RunStore, check_writable_dir, safe_name


class RunFolder:
    def __init__(self, reports_dir: str, run_id: str, config: Callable[[str], dict[str, Any]]
                 ) -> None:
        self.reports_dir = reports_dir
        self.run_id = run_id
        self.config = config  # run id -> the settings stored in the folder
        self._store: RunStore | None = None
        self._lock: RunLock | None = None

    def check(self) -> None:
        """The reports dir is writable, and a resumed run's folder is readable, has the same
        settings and no other live process on it."""
        reports = Path(self.reports_dir)
        check_writable_dir(reports, "--vlmq-reports-dir")
        if self.run_id and (reports / safe_name(self.run_id)).is_dir():
            RunLock(reports / safe_name(self.run_id)).check_free(self.run_id)
            RunStore(reports, self.run_id).check_resume(self.config(self.run_id))

    @property
    def store(self) -> RunStore:
        if self._store is None:
            store = RunStore(self.reports_dir, self.run_id or None)
            self._lock = RunLock(store.root).acquire(store.run_id)
            store.write_config(self.config(store.run_id))
            self._store = store
        return self._store

    @property
    def created(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        """Give the run folder back (the lock also goes when the process dies)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
