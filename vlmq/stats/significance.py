"""The significance tests `vlmq compare` judges a change with, each one-sided in the direction
the data moved, and Holm's correction over a comparison's tests (the rules that combine them
are in vlmq.report.compare's docstring).

scipy does the work where it has the test: the paired bootstrap (scipy.stats.bootstrap), the
Mann-Whitney U test, Student's t and the normal tails, the scaled median absolute deviation.
Holm's step-down correction is not in scipy, so it is here (six lines).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import bootstrap, mannwhitneyu, median_abs_deviation, norm
from scipy.stats import t as student_t

from vlmq.stats.timing import MIN_ROUNDS

# past values (history runs + the reference) for a spread; with 2 the t-test has 1 degree of
# freedom and flags only huge changes, which is what two past runs can support
MIN_HISTORY = 2


@dataclass
class SigTest:
    """One significance test of one comparison; `higher` says which way the data moved."""

    p: float
    higher: bool
    text: str
    p_holm: float = 1.0


def bootstrap_test(a: Sequence[float], b: Sequence[float], alpha: float, seed: int,
                   n_boot: int = 4000) -> SigTest | None:
    """Paired bootstrap of mean(b - a) over the pairs with both scores; the one-sided p-value
    from the bootstrap standard error (normal tail), which unlike counting resamples stays
    exact enough for a Holm correction. None when fewer than 2 pairs have both scores."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = (y - x)[~(np.isnan(x) | np.isnan(y))]
    if len(d) < 2:
        return None
    mean = float(d.mean())
    if not d.any():
        return SigTest(1.0, False, f"paired bootstrap: mean diff {mean:+.4g}, "
                                   f"{1 - alpha:.0%} CI [0, 0]")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every resample equal: a zero standard error
        res = bootstrap((d,), np.mean, n_resamples=n_boot, confidence_level=1 - alpha,
                        method="percentile", vectorized=True, random_state=seed)
    se = float(res.standard_error)
    # se 0 with a non-zero mean: every sample moved the same way, there is no doubt
    p = float(norm.sf(abs(mean) / se)) if se > 0 else 0.0
    lo, hi = res.confidence_interval
    return SigTest(p, mean > 0, f"paired bootstrap: mean diff {mean:+.4g}, "
                                f"{1 - alpha:.0%} CI [{lo:.4g}, {hi:.4g}]")


def rounds_test(a: Sequence[float], b: Sequence[float]) -> SigTest | None:
    """One-sided Mann-Whitney U on latency rounds, in the direction the medians moved; None with
    fewer than MIN_ROUNDS rounds on a side."""
    if min(len(a), len(b)) < MIN_ROUNDS:
        return None
    higher = bool(np.median(b) > np.median(a))
    p = float(mannwhitneyu(b, a, alternative="greater" if higher else "less").pvalue)
    return SigTest(p, higher, f"Mann-Whitney U on rounds ({'slower' if higher else 'faster'})")


def history_test(past: Sequence[float], new: float) -> SigTest | None:
    """One-sided t-test of `new` against past runs' values with the prediction-interval
    standard error sd * sqrt(1 + 1/k), k - 1 degrees of freedom; None with fewer than
    MIN_HISTORY values or none of them different."""
    k = len(past)
    if k < MIN_HISTORY:
        return None
    mean, sd = float(np.mean(past)), float(np.std(past, ddof=1))
    if sd == 0:
        return None
    tval = (new - mean) / (sd * math.sqrt(1 + 1 / k))
    p = float(student_t.sf(abs(tval), k - 1))
    return SigTest(p, new > mean, f"vs {k} past runs: mean {mean:.4g}, sd {sd:.3g}, "
                                  f"t={tval:+.2f}")


def robust_centre_spread(values: Sequence[float]) -> tuple[float, float]:
    """(median, 1.4826 x median absolute deviation): a centre and a normal-scale spread that a
    few outlying values do not move."""
    arr = np.asarray(values, dtype=float)
    return float(np.median(arr)), float(median_abs_deviation(arr, scale="normal"))


def spread_test(value: float, centre: float, spread: float, text: str) -> SigTest:
    """One-sided normal-tail test of `value` standing out of (centre, spread) (spread > 0)."""
    z = (value - centre) / spread
    return SigTest(float(norm.sf(abs(z))), value > centre, f"{text}, z={z:+.2f}")


def holm(tests: Sequence[SigTest]) -> None:
    """Set each test's Holm-adjusted p-value (family-wise over `tests`)."""
    running = 0.0
    m = len(tests)
    for i, t in enumerate(sorted(tests, key=lambda t: t.p)):
        running = max(running, min(1.0, (m - i) * t.p))
        t.p_holm = running
