"""Benchmark tasks, one file each, registered in TASKS through the `vlmq.tasks` entry points."""

from __future__ import annotations

import difflib
from typing import Any

from vlmq.errors import VlmqError
from vlmq.tasks.base import TASKS, Task


def task_options(name: str) -> tuple[str, ...]:
    """The per-run options task `name` accepts."""
    return tuple(getattr(type(TASKS.get(name)), "options", ()))


def make_task(name: str, **options: Any) -> Task:
    """A fresh, configured task object.

    Options are keyword arguments of the task (ocr_tokens, python_tokenizer, spice, class_names).
    An option no task knows is an error; one that only other tasks know is ignored, so a run can
    pass the same settings to every task.
    """
    cls = type(TASKS.get(name))
    known = {o for n in TASKS.names() for o in task_options(n)}
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            listed = ", ".join(sorted(known))
            raise VlmqError(f"unknown task option {key!r}.{hint} Known: {listed}.")
    mine = task_options(name)
    return cls(**{k: v for k, v in options.items() if k in mine})


__all__ = ["TASKS", "Task", "make_task", "task_options"]
