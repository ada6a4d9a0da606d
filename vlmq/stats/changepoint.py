"""Change points over a series of runs: where the level of a metric moved, and by how much.

Judging each run against the one before misses a drift that moves a little per run; a change
point looks at the whole series at once. Detection is ruptures' PELT (Killick et al. 2012) with
the l2 cost (a shift of the mean), on the series standardized by a robust estimate of its
run-to-run noise (the median absolute first difference, which a single step barely moves), with
a fixed penalty per change point. A series that never varies has no change point; a constant
series that steps once (a deterministic metric whose code changed) is scaled by a floor of
0.1% of its level, so any step beyond that is found.

Calibration (docs/gates-and-compare.md, tests/test_changepoint.py): on simulated series of 30
runs with 1.5% Gaussian noise (seeded), penalty 20 found a 5% step at run 20 in 299 of 300
series (at run 20 exactly in 254, the others a run or two off) and a change point in 2 of 1000
flat series (0.2% false alarms per series; the noise is scaled away, so the rate does not
depend on its size for Gaussian noise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import ruptures

PENALTY = 20.0  # per change point, on the standardized series
MIN_SIZE = 3  # runs on each side of a change point
RELATIVE_FLOOR = 1e-3  # the least noise assumed, relative to the series' level
METHOD = f"change point: ruptures PELT, l2 cost, penalty {PENALTY:g} on the noise-scaled series"


@dataclass(frozen=True)
class ChangePoint:
    index: int  # position in the series of the first run at the new level
    before: float  # mean of the segment before it
    after: float  # mean of the segment from it on

    @property
    def change(self) -> float:
        """Relative move of the level (after / before - 1); inf from a zero level."""
        return self.after / self.before - 1 if self.before else math.inf


def noise_scale(y: np.ndarray) -> float:
    """Run-to-run noise of a series: median |first difference| / (0.6745 * sqrt 2), floored."""
    diffs = np.abs(np.diff(y))
    robust = float(np.median(diffs)) / (0.6745 * math.sqrt(2)) if diffs.size else 0.0
    return max(robust, RELATIVE_FLOOR * abs(float(np.median(y))), 1e-12)


def change_points(values: Sequence[float | None], penalty: float = PENALTY,
                  min_size: int = MIN_SIZE) -> list[ChangePoint]:
    """The change points of a series (None and non-finite values are skipped, positions kept)."""
    where = [i for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    y = np.array([values[i] for i in where], dtype=float)
    if y.size < 2 * min_size or np.ptp(y) == 0:
        return []
    z = (y - y.mean()) / noise_scale(y)
    ends = ruptures.Pelt(model="l2", min_size=min_size, jump=1).fit(z.reshape(-1, 1)) \
        .predict(pen=penalty)
    bounds = [0, *ends]
    return [ChangePoint(where[cut], float(y[start:cut].mean()), float(y[cut:stop].mean()))
            for start, cut, stop in zip(bounds, bounds[1:], bounds[2:], strict=False)]
