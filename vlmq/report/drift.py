"""Drift across many runs: the change points of every entry x metric series.

`vlmq history` and `vlmq compare --history` judge neighbouring runs; a level that creeps a
little per run passes every such step. Here each entry x metric is one series over the runs
(oldest first) and `vlmq.stats.changepoint` finds where its level moved. The metrics compare
only shows (device bounds, input-pipeline time) are left out, as compare leaves them unjudged.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmq.report.compare import SHOWN_KINDS, SHOWN_METRICS, Run
from vlmq.stats.changepoint import ChangePoint, change_points

TIME_METRIC = "time:median"  # pytest-benchmark's median round


@dataclass(frozen=True)
class Drift:
    key: tuple[str, ...]
    label: str  # the entry's label in the newest run that has it
    metric: str
    point: ChangePoint  # point.index: position of the first run at the new level


def run_value(run: Run, key: tuple[str, ...], metric: str) -> float | None:
    """One entry's value of `metric` in one run (time:median from pytest-benchmark stats)."""
    e = run.entries.get(key)
    if e is None:
        return None
    if metric == TIME_METRIC:
        v = (e.stats or {}).get("median")
    else:
        m = e.result.metrics.get(metric) if e.result else None
        v = None if m is None else m.value
    return None if v is None else float(v)


def judged_metrics(runs: list[Run]) -> dict[tuple[str, ...], list[str]]:
    """Per entry key: the metrics worth a series (time:median, then each judged metric)."""
    out: dict[tuple[str, ...], list[str]] = {}
    for run in runs:
        for key, e in run.entries.items():
            names = out.setdefault(key, [])
            if e.stats and "median" in e.stats and TIME_METRIC not in names:
                names.append(TIME_METRIC)
            for name, m in (e.result.metrics.items() if e.result else ()):
                if name not in names and m.kind not in SHOWN_KINDS \
                        and name not in SHOWN_METRICS:
                    names.append(name)
    return out


def drifts(runs: list[Run]) -> list[Drift]:
    """Every change point of every entry x metric over `runs` (oldest first)."""
    out = []
    for key, metrics in judged_metrics(runs).items():
        label = next(r.entries[key].label for r in reversed(runs) if key in r.entries)
        for metric in metrics:
            for point in change_points([run_value(r, key, metric) for r in runs]):
                out.append(Drift(key, label, metric, point))
    return out


def drift_line(d: Drift, runs: list[Run]) -> str:
    """`CHANGE POINT: m/int8/vqa latency_p50_ms from run 20 of 30 (A20): level 41.2 -> 43.3
    (+5.1%)`."""
    p = d.point
    return (f"CHANGE POINT: {d.label} {d.metric} from run {p.index + 1} of {len(runs)} "
            f"({runs[p.index].label}): level {p.before:.4g} -> {p.after:.4g} ({p.change:+.1%})")
