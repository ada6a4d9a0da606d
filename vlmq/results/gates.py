"""Quality gates read from a stored result: torch-free, so `vlmq merge` judges merged runs
exactly as the benchmark did."""

from __future__ import annotations

from vlmq.results.schema import TaskResult


def gate_failures(result: TaskResult) -> list[str]:
    """One failure message per gated metric whose retention is under its threshold."""
    info = result.info
    out = []
    for metric, threshold in result.thresholds.items():
        ratio = result.retention.get(metric)
        if ratio is not None and ratio < threshold:
            out.append(
                f"{info['model']} {info['variant']} on {info['task']}: {metric} "
                f"{result.metrics[metric].value:.4f} vs baseline {info['baseline']} "
                f"{info['baseline_scores'][metric]:.4f} = retention {ratio:.3f} "
                f"< threshold {threshold:.3f}"
            )
    return out
