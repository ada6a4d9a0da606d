"""Percentile statistics of per-batch latencies (the timing itself is vlmq.measure.latency)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from vlmq.errors import VlmqError


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
