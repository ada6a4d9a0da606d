"""A task: which dataset layout it reads, how it prompts, how it scores."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

from vlmq.metrics.base import CorpusScore, MetricInfo
from vlmq.registry import Registry

TaskKind = Literal["generate", "classify"]


class Task(ABC):
    """One benchmark task.

    Rows handed to a task are in the task's canonical layout (see `columns`), which
    `vlmq.data` produces from every supported dataset layout.
    """

    name: str
    kind: TaskKind
    default_dataset: str  # an embedded dataset name, a hub id or a path
    layout_kind: str  # the canonical data layout it reads: "caption", "vqa" or "classify"
    columns: tuple[str, ...]  # canonical columns the rows must carry
    metrics: tuple[MetricInfo, ...]
    description: str = ""

    def prompt(self, row: dict[str, Any]) -> str:
        """The user prompt for one row (generative tasks)."""
        raise NotImplementedError(f"task {self.name!r} does not prompt")

    def postprocess(self, text: str) -> str:
        """Clean a raw generation before scoring (strip, first line ...)."""
        return text.strip()

    def references(self, row: dict[str, Any]) -> list[str]:
        """The reference strings recorded next to a prediction."""
        return []

    @abstractmethod
    def score(self, predictions: Sequence[Any], rows: Sequence[dict[str, Any]]) -> CorpusScore:
        """Score all predictions against their rows, per sample and over the corpus."""

    def start_scoring(self) -> threading.Thread | None:
        """Start the scorer's one-time set-up in the background (a thread, joined by
        `vlmq.tasks.prestart.wait`), or None when there is none."""
        return None

    def metric(self, name: str) -> MetricInfo:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(name)


# Filled from the `vlmq.tasks` entry points (vlmq's own: caption, vqa, classify).
TASKS: Registry[Task] = Registry("task", group="vlmq.tasks")
