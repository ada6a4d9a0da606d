"""The whole-split VQA gate of a run folder, resampled two ways: by image (what the run
recorded) and by question (as if every question were independent), under five bootstrap
seeds, so that the width ratio can be told from the resampling's own noise.

    python reports/cpu/vqa-whole-2026-12-07/intervals.py RUN_FOLDER [VARIANT] [TASK]
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from vlmq.metrics.base import MetricInfo
from vlmq.results.store import RunStore
from vlmq.stats.bootstrap import BootstrapSettings
from vlmq.stats.retention import result_gates


def main(folder: str, variant: str = "fp4", task: str = "vqa-full") -> None:
    path = Path(folder)
    store = RunStore(path.parent, path.name)
    base = store.read_result("llava-tiny", "fp32", task)
    var = store.read_result("llava-tiny", variant, task)
    if base is None or var is None:
        raise SystemExit(f"{folder}: no fp32 and {variant} results of {task}")
    metric = [MetricInfo("accuracy")]
    stats = {k: v for k, v in var.sample_stats.items() if k != "group"}
    unclustered = dataclasses.replace(var, sample_stats=stats)
    ratios = []
    for seed in range(5):
        settings = BootstrapSettings(confidence=0.95, resamples=2000, seed=seed)
        widths = {}
        for name, result in (("by image", var), ("by question", unclustered)):
            g = result_gates(result, base, metric, {"accuracy": 0.9}, settings)["accuracy"]
            widths[name] = g["high"] - g["low"]
            print(f"seed {seed} {name:12s} retention {g['retention']:.5f} [{g['low']:.5f}, "
                  f"{g['high']:.5f}] width {widths[name]:.5f} n={g['n']} "
                  f"clusters={g['clusters']} min detectable drop "
                  f"{g['min_detectable_drop']:.5f} ({g['method']})")
        ratios.append(widths["by image"] / widths["by question"])
    print("clustered / sample width per seed: " + ", ".join(f"{r:.3f}" for r in ratios))
    differ = sum(a != b for a, b in zip(var.per_sample["accuracy"], base.per_sample["accuracy"],
                                         strict=True))
    print(f"questions scored differently: {differ} of {len(base.per_sample['accuracy'])}")


if __name__ == "__main__":
    main(*sys.argv[1:])
