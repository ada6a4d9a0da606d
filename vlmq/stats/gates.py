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

Too few samples, or an interval of no width, decide nothing (`undecided`): the gate is
`inconclusive` with the reason, so `strict` fails it and `significant` warns.
- MIN_SAMPLES: below it the paired BCa interval covers the true retention far less often than
  its confidence says. Measured on a binary metric (baseline accuracy 0.7, the variant
  disagreeing on 10% or 25% of samples, 1000 resamples), 600 simulated runs per n, counting
  only intervals of non-zero width, at nominal 95%: COVERAGE below (2026-12-06, shared 2-core
  machine; tests/test_verdict_minimum.py repeats it with 300 runs). 48 is the smallest n
  measured where coverage reached 90% at both rates (at 32: 89.7% and 93.2%); from there it
  creeps up to the 94% measured at n=128 (vlmq.stats.bootstrap).
- A degenerate interval (low == high): every paired sample agrees (identical predictions, or
  all correct on both sides), so the bootstrap has nothing to resample; with 2 samples both
  right it gave 1.000..1.000 and `pass`. No width is not certainty: what n agreeing samples do
  show is that few unseen samples disagree. With 0 disagreements in n, the share p of
  disagreeing samples is below 1 - ((1 - c) / 2)^(1/n) (the exact binomial bound, one-sided at
  (1 - c) / 2 like each end of the interval: 5.6% at n=64, 1.4% at n=256, for c = 0.95), and a
  disagreeing sample moves the mean score by at most its own score (scores >= 0), so
  `agreement_interval` widens the point to retention -+ p * max(score) / mean(score). A
  classifier's top-5 that matches the baseline on 64 samples then passes a 0.93 threshold,
  and one that matches on 2 samples stays inconclusive.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from scipy.stats import norm

from vlmq.stats.bootstrap import RetentionInterval

POWER = 0.8
MIN_SAMPLES = 48
# n -> coverage of the non-degenerate 95% intervals at 10% / 25% disagreement (see above)
COVERAGE = {12: (0.791, 0.920), 16: (0.823, 0.919), 24: (0.882, 0.940), 32: (0.897, 0.932),
            48: (0.916, 0.948)}
VERDICTS = ("pass", "fail", "inconclusive")
# how verdicts become test outcomes (the `gate` setting; see gate_fails)
GATE_POLICIES = ("significant", "strict", "point")
DEFAULT_GATE_POLICY = "significant"
AGREEMENT_METHOD = "; all samples agree: binomial bound"


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


def undecided(n: int, low: float, high: float) -> str | None:
    """Why an interval cannot carry a verdict (module docstring); None when it can."""
    if n < MIN_SAMPLES:
        return (f"only {n} paired sample(s): a verdict needs at least {MIN_SAMPLES} (below that "
                "the bootstrap interval covers the truth far less often than it claims)")
    if low == high:
        return (f"all {n} paired samples agree, so the interval has no width (no spread to "
                "resample; that is not certainty)")
    return None


def agreement_interval(interval: RetentionInterval, scores: list[float]
                       ) -> RetentionInterval:
    """A degenerate interval widened by how many unseen samples could disagree (module
    docstring); `scores` are the baseline's per-sample scores (>= 0). Unchanged when it is not
    degenerate or the scores cannot bound a change."""
    mean = sum(scores) / len(scores) if scores else 0.0
    if interval.low != interval.high or mean <= 0 or min(scores) < 0:
        return interval
    # clustered samples (vlmq.stats.clusters) disagree by whole clusters: count those
    share = 1 - ((1 - interval.confidence) / 2) ** (1 / (interval.clusters or interval.n))
    half = interval.retention * share * max(scores) / mean
    return dataclasses.replace(interval, low=interval.retention - half,
                               high=interval.retention + half,
                               method=interval.method + AGREEMENT_METHOD)


def agreement_samples_needed(interval: RetentionInterval, threshold: float) -> int | None:
    """Samples that, all agreeing too, would narrow `agreement_interval`'s bound to the
    threshold: the smallest m with 1 - a^(1/m) <= gap / scale (a = (1 - c) / 2), in samples
    (clusters scaled by their mean size). None when the retention is not above the threshold."""
    half = interval.high - interval.retention
    units = interval.clusters or interval.n
    alpha = (1 - interval.confidence) / 2
    share = 1 - alpha ** (1 / units)
    gap = interval.retention - threshold
    if gap <= 0 or half <= 0 or share <= 0:
        return None
    target = gap * share / half  # the share of disagreeing units the threshold tolerates
    if target >= 1:
        return None
    units_needed = math.ceil(math.log(alpha) / math.log(1 - target))
    return max(interval.n + 1, math.ceil(units_needed * interval.n / units))


def gate_record(interval: RetentionInterval, threshold: float) -> dict[str, Any]:
    """One entry of TaskResult.gates (the schema in vlmq.results.schema)."""
    v = verdict(interval.low, interval.high, threshold)
    mdd = min_detectable_drop(interval.se, interval.confidence)
    need = (agreement_samples_needed(interval, threshold)
            if interval.method.endswith(AGREEMENT_METHOD)
            else samples_needed(interval.n, mdd, interval.retention, threshold))
    reason = undecided(interval.n, interval.low, interval.high)
    if reason:
        v = "inconclusive"
        need = max(need or 0, MIN_SAMPLES) if interval.n < MIN_SAMPLES else None
    out = {
        "retention": interval.retention, "low": interval.low, "high": interval.high,
        "confidence": interval.confidence, "threshold": threshold, "verdict": v,
        "n": interval.n, "min_detectable_drop": mdd,
        "samples_needed": need if v == "inconclusive" else None,
        "method": interval.method, "resamples": interval.resamples, "seed": interval.seed,
        "clusters": interval.clusters,
    }
    if reason:
        out["reason"] = reason
    return out


def describe(name: str, gate: dict[str, Any]) -> str:
    """`meteor: inconclusive at n=128 (0.961..1.000 vs 0.97); ~900 samples decide`."""
    text = (f"{name}: {gate['verdict']} at n={gate['n']} ({gate['low']:.3f}..{gate['high']:.3f} "
            f"vs {gate['threshold']:.3g})")
    if gate.get("reason"):
        text += f": {gate['reason']}"
    if gate["verdict"] == "inconclusive":
        need = gate.get("samples_needed")
        text += f"; ~{need} samples decide" if need else "; no sample count decides it"
    return text


def gate_fails(policy: str, retention: float, threshold: float,
               gate: dict[str, Any] | None) -> bool:
    """Does this gate fail the test under `policy`? Without an interval (old results) every
    policy falls back to the point retention."""
    if policy == "point" or not gate:
        return retention < threshold
    if policy == "strict":
        return gate["verdict"] != "pass"
    return gate["verdict"] == "fail"
