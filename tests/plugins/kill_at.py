"""A pytest plugin (loaded with `-p kill_at`) that interrupts a benchmark run at a chosen point,
for the resume tests. VLMQ_TEST_KILL_AT names the point:

    load:<variant>    before that variant is loaded (every earlier variant's tasks are done)
    append:<variant>  after that variant's first batch of records is stored (mid-task)
    score:<variant>   when that variant's task is being scored (every record stored)
    report            while the end-of-run report is written (after the summary)

VLMQ_TEST_ACTION=hold sleeps there instead (after touching VLMQ_TEST_HOLD_FILE), so that the
test can start a second process on the live run and then kill this one itself.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import vlmq.report.build
from vlmq.results.store import RunStore
from vlmq.session import BenchmarkSession
from vlmq.session.scoring import Scorer

POINT, _, VARIANT = os.environ.get("VLMQ_TEST_KILL_AT", "").partition(":")


def _stop() -> None:
    if os.environ.get("VLMQ_TEST_ACTION") == "hold":
        Path(os.environ["VLMQ_TEST_HOLD_FILE"]).touch()
        time.sleep(600)
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap(owner: Any, name: str, point: str, hit: Any) -> None:
    """Call `_stop` where `hit(*args)` says so, before (or, for append, after) `owner.name`."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if point == "append":
            out = original(*args, **kwargs)
            if hit(*args):
                _stop()
            return out
        if hit(*args):
            _stop()
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)


_current: dict[str, str] = {}


def _remember(self: BenchmarkSession, loaded: Any, case: Any, *args: Any) -> bool:
    _current["variant"] = case.variant
    return False


if POINT == "load":
    _wrap(BenchmarkSession, "load", POINT, lambda self, case: case.variant == VARIANT)
elif POINT == "append":
    _wrap(RunStore, "append", POINT,
          lambda self, model, variant, task, recs: variant == VARIANT and bool(recs))
elif POINT == "score":
    _wrap(BenchmarkSession, "run", "", _remember)
    _wrap(Scorer, "score", POINT, lambda *a: _current.get("variant") == VARIANT)
elif POINT == "report":
    _wrap(vlmq.report.build, "plot_all", POINT, lambda *a: True)
