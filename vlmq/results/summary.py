"""summary.json and summary.csv: one row per model x variant x task with every metric and its unit.

Both load with the plain readers: `pandas.read_csv("summary.csv")` (one header row, metric
columns as float64) and `pandas.read_json("summary.json")` (a list of row records). The unit of
every column is in the sidecar summary.units.json ({"run_id", "units": {column: unit}}; identity
columns have unit '-'). Per quality metric with a gate there are two more columns,
`<metric>_retention` (variant / baseline) and `<metric>_threshold` (its minimum), and where the
run has retention intervals `<metric>_low`, `<metric>_high`, `<metric>_verdict` and
`<metric>_samples_needed`; `passed` is True when no gated metric fails under the run's gate policy
(`gate` in config.yaml; without intervals: every retention at least its threshold), empty when
nothing is gated (the baseline).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from vlmq.results.atomic import write_atomic, writing
from vlmq.results.gates import gate_checks, passed
from vlmq.results.schema import KINDS, Measurement, TaskResult
from vlmq.results.store import RunStore
from vlmq.stats.gates import DEFAULT_GATE_POLICY

GATE_COLUMNS = {"low": "ratio", "high": "ratio", "verdict": "-", "samples_needed": "count"}

ID_COLUMNS = ("model", "variant", "task", "dataset", "device", "baseline", "samples", "passed")


def is_baseline(result: TaskResult) -> bool:
    return result.info.get("baseline") == result.info.get("variant")


def superseded(result: TaskResult) -> bool:
    """An earlier look that --vlmq-samples auto took to a later one (`info["next_look"]`): its
    gates are judged at that look, not here."""
    return "next_look" in result.info


def ordered_metrics(results: list[TaskResult]) -> list[Measurement]:
    """One Measurement per metric name (first seen), ordered by kind (quality, latency ...)."""
    seen: dict[str, Measurement] = {}
    for r in results:
        for name, m in r.metrics.items():
            seen.setdefault(name, m)
    rank = {k: i for i, k in enumerate(KINDS)}
    return sorted(seen.values(), key=lambda m: rank.get(m.kind, len(KINDS)))


def summary_table(results: list[TaskResult], policy: str = DEFAULT_GATE_POLICY
                  ) -> tuple[pd.DataFrame, dict[str, str]]:
    """The summary rows as a DataFrame and the unit of each column."""
    metrics = ordered_metrics(results)
    units = {c: "-" for c in ID_COLUMNS}
    gated = sorted({name for r in results for name in r.thresholds})
    with_interval = {name for r in results for name in r.gates}
    for m in metrics:
        units[m.name] = m.unit or "-"
        if m.name in gated:
            units[f"{m.name}_retention"] = "ratio"
            units[f"{m.name}_threshold"] = "ratio"
        if m.name in with_interval:
            units.update({f"{m.name}_{k}": u for k, u in GATE_COLUMNS.items()})
    rows = []
    for r in results:
        row: dict[str, Any] = {
            "model": r.info.get("model"), "variant": r.info.get("variant"),
            "task": r.info.get("task"), "dataset": r.info.get("dataset"),
            "device": r.info.get("device"), "baseline": is_baseline(r),
            "samples": r.info.get("samples"), "passed": passed(r, policy),
        }
        for m in metrics:
            row[m.name] = r.metrics[m.name].value if m.name in r.metrics else None
        for name, (ret, thr, _) in gate_checks(r, policy).items():
            row[f"{name}_retention"] = ret
            row[f"{name}_threshold"] = thr
        for name, gate in r.gates.items():
            row.update({f"{name}_{k}": gate.get(k) for k in GATE_COLUMNS})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(units))
    return frame, units


def write_summary(store: RunStore) -> tuple[Path, Path]:
    """Write summary.json, summary.csv and summary.units.json of a run folder from its stored
    task results."""
    policy = store.read_config().get("gate", DEFAULT_GATE_POLICY)
    frame, units = summary_table(store.results(), policy)
    with writing(store.summary_csv, "the summary table") as tmp:
        frame.to_csv(tmp, index=False)
    rows = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    write_atomic(store.summary_json, json.dumps(rows, indent=1), "the summary")
    write_atomic(store.root / "summary.units.json",
                 json.dumps({"run_id": store.run_id, "units": units}, indent=1),
                 "the summary's units")
    return store.summary_json, store.summary_csv


def _plain(v: Any) -> Any:
    """JSON-safe scalars: NaN/NA -> None, numpy scalars -> Python."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    return v.item() if hasattr(v, "item") else v
