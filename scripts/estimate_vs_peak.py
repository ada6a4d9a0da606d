"""The memory estimate against the measured peak, for every committed real-size entry.

    PYTHONPATH=$PWD python scripts/estimate_vs_peak.py [reports/cpu/real-scale]

For each entry of every bench.json (and result JSON) under the folder: the estimate the entry
recorded, the estimate the current code computes before loading for the same model folder,
variant, batch, new tokens and measured prompt ("estimate now": load_variant's plan and
estimate, no weight read), and the measured peak (the larger of load peak and model peak),
with the difference and whether it is within 20%. Needs the synthetic folders the entries
name (`vlmq synth`); a folder that is gone is looked for by its name under $SYNTH_DIR (default
/tmp/vlmq-synth), where scripts/real_scale_cpu.sh makes them (seeded: the same weights).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from vlmq.errors import UnavailableError
from vlmq.fit import variant_cost
from vlmq.loading import _load_kwargs, _plan, estimated_workload
from vlmq.measure.estimate import MIB, Workload, estimate
from vlmq.variants.base import VariantSettings

WITHIN = 0.20


def entries(folder: Path) -> list[tuple[str, dict[str, Any]]]:
    """(file, result) for every benchmark entry and standalone result under `folder`."""
    found = []
    for path in sorted(folder.rglob("*.json")):
        if "run" in path.relative_to(folder).parts[:-1]:
            continue  # a kept run folder: its results are the bench.json's entries again
        data = json.loads(path.read_text())
        if "benchmarks" in data:
            found += [(str(path), b["extra_info"]) for b in data["benchmarks"]]
        elif "vlmq" in data and "metrics" in data:
            found.append((str(path), data))
    return found


def synth_folder(model: str) -> str:
    """The entry's model folder, or the one of the same name under $SYNTH_DIR."""
    moved = Path(os.environ.get("SYNTH_DIR", "/tmp/vlmq-synth")) / Path(model).name
    return model if Path(model).exists() or not moved.exists() else str(moved)


def estimate_now(info: dict[str, Any]) -> float:
    """MiB the current estimator gives the entry's variant on its folder, before loading."""
    import torch

    v = info["vlmq"]
    plan = _plan(synth_folder(v["model"]), v["base_variant"], v["device"], VariantSettings(),
                 v["attn_implementation"])
    kwargs, _notes = _load_kwargs(plan)
    # the run now sizes its estimate with its first batch's prompt (vlmq.session.first_batch):
    # the entry's measured prompt stands for it
    prompt = round(v.get("prompt_tokens") or 0)
    work = estimated_workload(plan, Workload(batch=v["batch_size"],
                                             new_tokens=v["max_new_tokens"] or 64,
                                             prompt_tokens=prompt or Workload().prompt_tokens,
                                             prompt_measured=bool(prompt)))
    cost = variant_cost(plan.variant, plan.config, kwargs.get("dtype", torch.float32),
                        plan.dev_type, plan.settings)
    return estimate(plan.shape, cost, work).peak_bytes / MIB


def main(folder: str = "reports/cpu/real-scale") -> None:
    print("| folder | variant | load peak | model peak | estimate in the entry | estimate now "
          "| vs peak | within 20% |")
    print("|---|---|---|---|---|---|---|---|")
    for path, info in entries(Path(folder)):
        metrics = {k: m.get("value") for k, m in info.get("metrics", {}).items()}
        load, model = metrics.get("load_peak_memory_mib"), metrics.get("model_peak_memory_mib")
        if load is None or model is None:
            continue
        peak = max(load, model)
        where = str(Path(path).parent.relative_to(folder))
        first = (f"| {where} | {info['vlmq']['base_variant']} | {load:,.0f} | {model:,.0f} | "
                 f"{metrics.get('memory_estimate_mib') or 0:,.0f} |")
        try:
            now = estimate_now(info)
        except UnavailableError as exc:  # e.g. llm-compressor's environment not built here
            print(f"{first} not computed here: {str(exc)[:80]} | - | - |")
            continue
        off = now / peak - 1
        print(f"{first} {now:,.0f} | {off:+.0%} | {'yes' if abs(off) <= WITHIN else 'no'} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
