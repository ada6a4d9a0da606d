"""The layer-wise sensitivity plot and its JSON, written into a run folder. Never imports torch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from vlmq.results.atomic import write_atomic, writing
from vlmq.results.store import safe_name  # noqa: E402

if TYPE_CHECKING:  # the sweep's type only: the report layer never imports the runner
    from vlmq.sensitivity import SensitivitySweep


def sweep_stem(sweep: SensitivitySweep) -> str:
    return safe_name(f"{sweep.model}__{sweep.base_variant}__{sweep.part}__{sweep.task}")


def plot_sweep(sweep: SensitivitySweep, out: Path) -> Path:
    """One point per kept layer (its score), with the baseline and the base variant as lines;
    each point is labelled with the share of the quantization loss it recovers. Points, not
    bars: the y axis is zoomed to the scores, which would make bar heights misleading."""
    layers = sweep.layers
    fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * len(layers) + 2.5), 3.8))
    xs = [p.layer for p in layers]
    ax.plot(xs, [p.score for p in layers], "o-", color="#4c72b0",
            label=f"{sweep.base_variant} with this layer in full precision")
    ax.axhline(sweep.baseline_score, color="#2ca02c", linestyle="--",
               label=f"{sweep.baseline_variant} (baseline) {sweep.baseline_score:.4g}")
    ax.axhline(sweep.base.score, color="#d62728", linestyle=":",
               label=f"{sweep.base_variant}, nothing kept {sweep.base.score:.4g}")
    for p in layers:
        if p.recovered is not None:
            ax.annotate(f"{100 * p.recovered:.0f}%", (p.layer, p.score), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 4), textcoords="offset points")
    scores = [p.score for p in sweep.points] + [sweep.baseline_score]
    low, high = min(scores), max(scores)
    pad = (high - low) * 0.25 or abs(high) * 0.05 or 0.05
    ax.set_ylim(low - pad, high + pad)
    ax.set_xticks(xs)
    ax.set_xlabel(f"{sweep.part} layer kept in full precision (index)")
    arrow = "higher is better" if sweep.higher_is_better else "lower is better"
    ax.set_ylabel(f"{sweep.metric} on {sweep.task} ({arrow})")
    ax.set_title(f"Layer sensitivity: {sweep.model}, {sweep.base_variant} on {sweep.part}",
                 fontsize=10)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    try:
        with writing(out, "the sensitivity plot") as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)
    return out


def write_sweep(sweep: SensitivitySweep, run_dir: str | Path) -> tuple[Path, Path]:
    """<run_dir>/sensitivity/<stem>.json and .png; returns both paths."""
    folder = Path(run_dir) / "sensitivity"
    folder.mkdir(parents=True, exist_ok=True)
    stem = sweep_stem(sweep)
    data = folder / f"{stem}.json"
    write_atomic(data, json.dumps(sweep.to_dict(), indent=2), "the sensitivity sweep")
    return data, plot_sweep(sweep, folder / f"{stem}.png")
