"""The judge of a result against its baseline, and the pass/fail verdict of its gates.

Torch-free, so that `vlmq merge` judges merged runs exactly as the benchmark did: the session
and the merge both call `judge_against`, and every reader of a verdict (the test outcome, the
summary's `passed`, the reports, `vlmq merge`'s exit status) goes through `gate_checks`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from vlmq.errors import VlmqError
from vlmq.metrics.base import MetricInfo, retention
from vlmq.results.schema import TaskResult
from vlmq.stats.bootstrap import BootstrapSettings
from vlmq.stats.gates import DEFAULT_GATE_POLICY, GATE_POLICIES, gate_fails
from vlmq.stats.retention import result_gates


def judge_against(result: TaskResult, base: TaskResult, metrics: Sequence[MetricInfo],
                  settings: BootstrapSettings,
                  threshold: Callable[[str], float] | None = None) -> None:
    """Retention of every metric both results score, the baseline's scores, the thresholds of
    the gated ones (where `threshold` gives them; else those stored stay) and the gates."""
    for m in metrics:
        if m.name not in result.metrics or m.name not in base.metrics:
            continue
        v, b = result.metrics[m.name].value, base.metrics[m.name].value
        if v is None or b is None:
            continue
        result.retention[m.name] = retention(v, b, m.higher_is_better)
        if m.gated and threshold is not None:
            result.thresholds[m.name] = threshold(m.name)
        result.info.setdefault("baseline_scores", {})[m.name] = b
    result.gates = result_gates(result, base, metrics, result.thresholds, settings)


def bootstrap_settings(config: Any, confidence: float | None = None) -> BootstrapSettings:
    """The gate intervals' settings of a run (`confidence` overrides the run's)."""
    return BootstrapSettings(config.confidence if confidence is None else confidence,
                             config.bootstrap_resamples, config.seed)


class GateCheck(NamedTuple):
    retention: float | None
    threshold: float
    passed: bool


def gate_checks(result: TaskResult, policy: str = DEFAULT_GATE_POLICY) -> dict[str, GateCheck]:
    """The verdict of every gated metric under the gate `policy`: passed unless its retention
    is missing or fails (`vlmq.stats.gates.gate_fails`)."""
    if policy not in GATE_POLICIES:
        raise VlmqError(f"gate policy {policy!r} is unknown; use one of "
                        f"{', '.join(GATE_POLICIES)}")
    out = {}
    for name, threshold in result.thresholds.items():
        ret = result.retention.get(name)
        ok = ret is not None and not math.isnan(ret) and not gate_fails(
            policy, ret, threshold, result.gates.get(name))
        out[name] = GateCheck(ret, float(threshold), ok)
    return out


def passed(result: TaskResult, policy: str = DEFAULT_GATE_POLICY) -> bool | None:
    """True/False over the gated metrics; None when none is gated."""
    checks = gate_checks(result, policy)
    return all(c.passed for c in checks.values()) if checks else None


def gate_failures(result: TaskResult, policy: str) -> list[str]:
    """One failure message per gated metric that fails under the gate `policy`."""
    info = result.info
    out = []
    for metric, check in gate_checks(result, policy).items():
        ratio, threshold = check.retention, check.threshold
        if check.passed or ratio is None:
            continue
        gate = result.gates.get(metric)
        text = (f"{info['model']} {info['variant']} on {info['task']}: {metric} "
                f"{result.metrics[metric].value:.4f} vs baseline {info['baseline']} "
                f"{info['baseline_scores'][metric]:.4f} = retention {ratio:.3f} "
                f"< threshold {threshold:.3f}" if ratio < threshold else
                f"{info['model']} {info['variant']} on {info['task']}: {metric} "
                f"retention {ratio:.3f} not shown to be >= threshold {threshold:.3f}")
        if gate:
            text += (f"; {gate['confidence']:.0%} interval {gate['low']:.3f}.."
                     f"{gate['high']:.3f} ({gate['verdict']} at n={gate['n']}"
                     + (f": {gate['reason']})" if gate.get("reason") else ")"))
        out.append(text)
    return out
