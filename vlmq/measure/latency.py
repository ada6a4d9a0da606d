"""Latency of timed batches: synchronized timing and percentile statistics."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from vlmq.errors import VlmqError


def synchronize(device: Any) -> None:
    """Wait for queued GPU work on `device`, so that wall-clock time covers it (no-op on CPU)."""
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class LatencyStats:
    """Summary of per-batch latencies, in milliseconds."""

    rounds: int
    mean_ms: float
    std_ms: float  # sample standard deviation (0 for a single round)
    min_ms: float
    max_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float

    @classmethod
    def from_seconds(cls, seconds: Sequence[float]) -> LatencyStats:
        import numpy as np

        if len(seconds) == 0:
            raise VlmqError("no timed rounds to summarize; run at least one batch")
        ms = np.asarray(seconds, dtype=float) * 1000.0
        p50, p90, p95, p99 = np.percentile(ms, [50, 90, 95, 99])
        return cls(
            rounds=int(ms.size), mean_ms=float(ms.mean()),
            std_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
            min_ms=float(ms.min()), max_ms=float(ms.max()),
            p50_ms=float(p50), p90_ms=float(p90), p95_ms=float(p95), p99_ms=float(p99),
        )

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class BatchTimer:
    """Times calls on `device`, synchronizing CUDA before and after each one.

    Use as `with timer: run_batch()`; every timed block appends to `rounds_s`.
    """

    device: Any = "cpu"
    rounds_s: list[float] = field(default_factory=list)
    _start: float | None = field(default=None, repr=False)

    def __enter__(self) -> BatchTimer:
        synchronize(self.device)  # earlier queued work must not count toward this batch
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        synchronize(self.device)
        assert self._start is not None
        self.rounds_s.append(time.perf_counter() - self._start)
        self._start = None

    def time(self, fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
        """Call fn(*args, **kwargs) timed; returns (its result, seconds)."""
        with self:
            out = fn(*args, **kwargs)
        return out, self.rounds_s[-1]

    @property
    def last_s(self) -> float | None:
        return self.rounds_s[-1] if self.rounds_s else None

    def stats(self) -> LatencyStats:
        return LatencyStats.from_seconds(self.rounds_s)
