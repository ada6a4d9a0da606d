"""The scorers' one-time set-up, started while the run imports and collects and waited for
before the first model loads: METEOR's JVM reads its paraphrase table for about 6 s of one
core, which the first caption entry's scoring waited for, alone, in every run (the main job's
imports leave the second core idle). Waiting before the first load keeps it away from every
load and timed call."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from vlmq.tasks.base import Task

_pending: list[threading.Thread] = []


def start(tasks: Iterable[Task]) -> None:
    """Start each task's scorer set-up in the background (`Task.start_scoring`)."""
    for task in tasks:
        thread = task.start_scoring()
        if thread is not None:
            _pending.append(thread)


def wait() -> None:
    """Block until every started set-up has finished."""
    while _pending:
        _pending.pop().join()
