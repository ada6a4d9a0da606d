"""Quality gates read from a stored result: torch-free, so `vlmq merge` judges merged runs
exactly as the benchmark did."""

from __future__ import annotations

from vlmq.errors import VlmqError
from vlmq.results.schema import TaskResult
from vlmq.stats.gates import GATE_POLICIES, gate_fails


def gate_failures(result: TaskResult, policy: str) -> list[str]:
    """One failure message per gated metric that fails under the gate `policy`."""
    if policy not in GATE_POLICIES:
        raise VlmqError(f"gate policy {policy!r} is unknown; use one of "
                        f"{', '.join(GATE_POLICIES)}")
    info = result.info
    out = []
    for metric, threshold in result.thresholds.items():
        ratio = result.retention.get(metric)
        if ratio is None:
            continue
        gate = result.gates.get(metric)
        if gate_fails(policy, ratio, threshold, gate):
            text = (f"{info['model']} {info['variant']} on {info['task']}: {metric} "
                    f"{result.metrics[metric].value:.4f} vs baseline {info['baseline']} "
                    f"{info['baseline_scores'][metric]:.4f} = retention {ratio:.3f} "
                    f"< threshold {threshold:.3f}" if ratio < threshold else
                    f"{info['model']} {info['variant']} on {info['task']}: {metric} "
                    f"retention {ratio:.3f} not shown to be >= threshold {threshold:.3f}")
            if gate:
                text += (f"; {gate['confidence']:.0%} interval {gate['low']:.3f}.."
                         f"{gate['high']:.3f} ({gate['verdict']} at n={gate['n']})")
            out.append(text)
    return out
