"""Bootstrap intervals for timing: a variant's median batch latency, throughput and time per
output token over its timed batches, and its latency ratio to the baseline (two independent
samples of rounds).

Rounds inside one run share the machine's state, so these intervals say how precisely this run
measured its own speed, not how another run on a busier machine would come out (`vlmq compare
--history` judges that). scipy.stats.bootstrap (BCa where it is defined, else percentile).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.stats import bootstrap

MIN_ROUNDS = 3


def _interval(data: tuple[np.ndarray, ...], stat: Callable[..., Any], confidence: float,
              resamples: int, seed: int) -> dict[str, Any]:
    value = float(stat(*data, axis=-1))
    for method in ("BCa", "percentile"):  # BCa is undefined when every resample ties
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = bootstrap(data, stat, confidence_level=confidence, n_resamples=resamples,
                            method=method, vectorized=True, random_state=seed)
        low, high = res.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return {"value": value, "low": float(low), "high": float(high),
                    "confidence": confidence, "method": f"bootstrap over batches, {method}",
                    "resamples": resamples, "seed": seed}
    return {"value": value, "low": value, "high": value, "confidence": confidence,
            "method": "constant rounds", "resamples": resamples, "seed": seed}


def timing_intervals(rounds: Sequence[float], samples_per_round: float, confidence: float,
                     resamples: int, seed: int,
                     batch_tpots: Sequence[float] = ()) -> dict[str, dict[str, Any]]:
    """{"median_batch_s": ..., "throughput_samples_per_s": ...}, and "tpot_s" (the median over
    batches of each batch's median decoding step) when `batch_tpots` are given; each only with
    MIN_ROUNDS batches or more."""
    r, t = np.asarray(rounds, dtype=float), np.asarray(batch_tpots, dtype=float)
    out = {}
    if len(r) >= MIN_ROUNDS:
        out["median_batch_s"] = _interval((r,), np.median, confidence, resamples, seed)
        out["throughput_samples_per_s"] = _interval(
            (r,), lambda x, axis: samples_per_round / np.mean(x, axis=axis), confidence,
            resamples, seed)
    if len(t) >= MIN_ROUNDS:
        out["tpot_s"] = _interval((t,), np.median, confidence, resamples, seed)
    return out


def latency_ratio(rounds: Sequence[float], base_rounds: Sequence[float], confidence: float,
                  resamples: int, seed: int) -> dict[str, Any] | None:
    """Median batch latency of the variant over the baseline's, with its interval."""
    a, b = np.asarray(rounds, dtype=float), np.asarray(base_rounds, dtype=float)
    if min(len(a), len(b)) < MIN_ROUNDS or np.median(b) == 0:
        return None
    return _interval((a, b), lambda x, y, axis: np.median(x, axis=axis) /
                     np.median(y, axis=axis), confidence, resamples, seed)


def paired_ratio(values: Sequence[float], base: Sequence[float], confidence: float,
                 resamples: int, seed: int) -> dict[str, Any] | None:
    """Median of the per-pair ratios values[i] / base[i] (one batch timed two ways), with its
    interval: the pairs are resampled whole, so what a batch shares cancels."""
    a, b = np.asarray(values, dtype=float), np.asarray(base, dtype=float)
    if min(len(a), len(b)) < MIN_ROUNDS or len(a) != len(b) or (b <= 0).any():
        return None
    return _interval((a / b,), np.median, confidence, resamples, seed)
