"""Paired bootstrap intervals for a variant's retention of the baseline's score.

Paired: one matrix of resample multiplicities (B x n, each row a draw of n samples with
replacement, seeded) serves the variant and the baseline, so what the two share (an easy or a
hard sample) cancels in the ratio. The corpus metric is recomputed on every resample as the task
defines it (`vlmq.stats.corpus`); the interval is the percentile interval of the B retentions.

Why not scipy.stats.bootstrap: it calls the statistic on resampled data, while CIDEr-D and BLEU
are recomputed here from cached per-sample statistics through multiplicity weights, one matrix
product for all resamples; one code path (and the same resamples) then serves every metric.
Its percentile method is the one used here.

Metrics whose corpus value is not a function of per-sample statistics we keep (METEOR's
fragmentation penalty is corpus-wide) are bootstrapped as the mean of per-sample scores; the
relative spread of that ratio is applied to the corpus retention (`centre`), so the interval
brackets the reported value. tests/test_stats.py checks that the mean-based retention stays
close to the corpus one on real METEOR scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

METHOD = "paired bootstrap, percentile"

# weights (B, n) -> (variant corpus values, baseline corpus values), each (B,)
PairEstimator = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class BootstrapSettings:
    confidence: float = 0.95
    resamples: int = 2000
    seed: int = 0


@dataclass(frozen=True)
class RetentionInterval:
    retention: float
    low: float
    high: float
    se: float  # standard deviation of the bootstrap retentions
    n: int
    confidence: float
    method: str
    resamples: int
    seed: int


def resample_weights(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) multiplicities of n draws with replacement; row sums are n."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def retention_array(value: np.ndarray, baseline: np.ndarray, higher_is_better: bool
                    ) -> np.ndarray:
    """`vlmq.metrics.base.retention`, elementwise."""
    num, den = (value, baseline) if higher_is_better else (baseline, value)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(den == 0, np.where(num == 0, 1.0, np.inf), out)


def paired_retention(estimator: PairEstimator, n: int, higher_is_better: bool,
                     settings: BootstrapSettings, centre: float | None = None,
                     method: str = METHOD) -> RetentionInterval:
    """Retention (on all n samples) and its paired bootstrap interval.

    centre: the retention to report when the estimator only approximates the corpus metric; the
    bootstrap distribution is scaled by centre / (the estimator's own full-sample retention).
    """
    full_v, full_b = estimator(np.ones((1, n)))
    point = float(retention_array(full_v, full_b, higher_is_better)[0])
    weights = resample_weights(n, settings.resamples, settings.seed)
    boot = retention_array(*estimator(weights), higher_is_better)
    if centre is not None and np.isfinite(point) and point != 0:
        boot = boot * (centre / point)
        point = centre
    alpha = 1.0 - settings.confidence
    finite = boot[np.isfinite(boot)]
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    se = float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0
    return RetentionInterval(point, float(low), float(high), se, n, settings.confidence, method,
                             settings.resamples, settings.seed)
