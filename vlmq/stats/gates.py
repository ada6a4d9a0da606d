"""Gate verdicts from retention intervals, and the sample size that would decide a gate.

verdict: `pass` when the whole interval is at or above the threshold, `fail` when it is wholly
below, `inconclusive` otherwise. With a two-sided interval at confidence c, a variant whose true
retention equals the threshold fails with probability about (1 - c) / 2.

Minimum detectable drop at this n: (z_{1-(1-c)/2} + z_{power}) * se, with se the standard
deviation of the paired bootstrap retentions (for a mean metric that is the delta-method spread
of the paired per-sample differences (v_i - r b_i) / mean(b), over sqrt(n)). A true retention
that far under the threshold fails with probability `power` (0.8); that far above passes with it.

Samples needed: the interval shrinks as 1/sqrt(n), so about n * (mdd / |retention - threshold|)^2
samples make the observed gap detectable with that power. None when retention sits on the
threshold (no finite n decides it) or the spread is zero. With clustered intervals (samples that
share an image, vlmq/stats/clusters.py) se is the clustered spread, so both the drop and the
count assume more samples come in clusters of the same size; `clusters` records how many.
"""

from __future__ import annotations

import math
from typing import Any

from scipy.stats import norm

from vlmq.stats.bootstrap import RetentionInterval

POWER = 0.8
VERDICTS = ("pass", "fail", "inconclusive")
# how verdicts become test outcomes (the `gate` setting)
GATE_POLICIES = ("significant", "strict", "point")


def verdict(low: float, high: float, threshold: float) -> str:
    if low >= threshold:
        return "pass"
    if high < threshold:
        return "fail"
    return "inconclusive"


def min_detectable_drop(se: float, confidence: float, power: float = POWER) -> float:
    return float((norm.ppf(1 - (1 - confidence) / 2) + norm.ppf(power)) * se)


def samples_needed(n: int, mdd: float, retention: float, threshold: float) -> int | None:
    gap = abs(retention - threshold)
    if mdd <= 0 or gap == 0 or not math.isfinite(gap):
        return None
    return max(n + 1, math.ceil(n * (mdd / gap) ** 2))


def gate_record(interval: RetentionInterval, threshold: float) -> dict[str, Any]:
    """One entry of TaskResult.gates (the schema in vlmq.results.schema)."""
    v = verdict(interval.low, interval.high, threshold)
    mdd = min_detectable_drop(interval.se, interval.confidence)
    return {
        "retention": interval.retention, "low": interval.low, "high": interval.high,
        "confidence": interval.confidence, "threshold": threshold, "verdict": v,
        "n": interval.n, "min_detectable_drop": mdd,
        "samples_needed": (samples_needed(interval.n, mdd, interval.retention, threshold)
                           if v == "inconclusive" else None),
        "method": interval.method, "resamples": interval.resamples, "seed": interval.seed,
        "clusters": interval.clusters,
    }


def describe(name: str, gate: dict[str, Any]) -> str:
    """`meteor: inconclusive at n=128 (0.961..1.000 vs 0.97); ~900 samples decide`."""
    text = (f"{name}: {gate['verdict']} at n={gate['n']} ({gate['low']:.3f}..{gate['high']:.3f} "
            f"vs {gate['threshold']:.3g})")
    if gate["verdict"] == "inconclusive":
        need = gate.get("samples_needed")
        text += f"; ~{need} samples decide" if need else "; no sample count decides it"
    return text


def gate_fails(policy: str, retention: float, threshold: float,
               gate: dict[str, Any] | None) -> bool:
    """Does this gate fail the test under `policy`? Without an interval (old results, too few
    samples) every policy falls back to the point retention."""
    if policy == "point" or not gate:
        return retention < threshold
    if policy == "strict":
        return gate["verdict"] != "pass"
    return gate["verdict"] == "fail"
