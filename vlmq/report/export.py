"""Exports for github-action-benchmark's `customBiggerIsBetter` / `customSmallerIsBetter` tools.

Each tool reads a JSON list of {"name", "unit", "value", "range"?, "extra"?}. A run folder or a
pytest-benchmark JSON becomes two such lists, split by each metric's direction. Names are
'<model>/<variant>/<task> <metric>' (the benchmark's fullname for entries without vlmq info);
pytest-benchmark timing adds '<entry> time:median' (seconds, range = ± stddev).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from vlmq.errors import VlmqError
from vlmq.report.compare import Entry, load_run
from vlmq.results.atomic import write_atomic

BIGGER, SMALLER = "customBiggerIsBetter", "customSmallerIsBetter"


def benchmark_action_entries(source: str, storage: str | Path = ".benchmarks"
                             ) -> dict[str, list[dict[str, Any]]]:
    """{BIGGER: [...], SMALLER: [...]} from a run folder, a JSON file or a saved-run id."""
    out: dict[str, list[dict[str, Any]]] = {BIGGER: [], SMALLER: []}
    for entry in load_run(source, storage).entries.values():
        for item, bigger in _items(entry):
            out[BIGGER if bigger else SMALLER].append(item)
    return out


def _items(entry: Entry) -> list[tuple[dict[str, Any], bool]]:
    items = []
    stats = entry.stats or {}
    if _finite(stats.get("median")):
        item = {"name": f"{entry.label} time:median", "unit": "s",
                "value": float(stats["median"])}
        if _finite(stats.get("stddev")):
            item["range"] = f"± {float(stats['stddev']):.4g}"
        if "rounds" in stats:
            item["extra"] = f"rounds: {stats['rounds']}"
        items.append((item, False))
    if entry.result:
        info = entry.result.info
        extra = ", ".join(f"{k}: {info[k]}" for k in ("device", "dataset", "samples")
                          if info.get(k) is not None)
        for name, m in entry.result.metrics.items():
            if not _finite(m.value):
                continue
            item = {"name": f"{entry.label} {name}", "unit": m.unit or "-",
                    "value": float(m.value)}
            if extra:
                item["extra"] = extra
            items.append((item, m.higher_is_better))
    return items


def write_benchmark_action(source: str, out: str | Path, kind: str = "both",
                           storage: str | Path = ".benchmarks") -> list[Path]:
    """Write the export(s). kind 'bigger' or 'smaller' writes `out` itself; 'both' writes
    '<stem>-bigger<suffix>' and '<stem>-smaller<suffix>' next to it."""
    entries = benchmark_action_entries(source, storage)
    out = Path(out)
    if kind == "both":
        targets = {BIGGER: out.with_name(f"{out.stem}-bigger{out.suffix or '.json'}"),
                   SMALLER: out.with_name(f"{out.stem}-smaller{out.suffix or '.json'}")}
    elif kind in ("bigger", "smaller"):
        targets = {BIGGER if kind == "bigger" else SMALLER: out}
    else:
        raise VlmqError(f"export kind must be bigger, smaller or both, not {kind!r}")
    for tool, path in targets.items():
        write_atomic(path, json.dumps(entries[tool], indent=1), f"the {tool} export")
    return list(targets.values())


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
