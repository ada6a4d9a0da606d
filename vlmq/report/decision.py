"""The decision matrix: variants (rows) by tasks (columns), what each variant costs and saves.

Each cell is the worst verdict of the variant's gates on that task, with the retention interval
of its weakest metric (the one closest to its threshold) and its latency ratio to the baseline.
Each row adds the variant's footprint, the median of its latency ratios over the tasks (with
that task's interval) and its energy per sample against the baseline. Energy and footprint are
one measurement each, so they carry no interval. Built from the RunView; rendered as text
(terminal), markdown and HTML by `vlmq.report.matrix_render`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from vlmq.report.pick import primary
from vlmq.report.view import Row, RunView
from vlmq.results.schema import Measurement, TaskResult


@dataclass(frozen=True)
class Interval:
    """A value with its interval (low == high == value when none was measured)."""

    value: float
    low: float | None = None
    high: float | None = None

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    @classmethod
    def of(cls, d: dict[str, Any] | None) -> Interval | None:
        return None if d is None or d.get("value") is None else cls(
            float(d["value"]), d.get("low"), d.get("high"))


@dataclass
class Cell:
    """One variant on one task."""

    verdict: str  # baseline | superseded | - | fail | inconclusive | pass
    metric: str | None = None  # the weakest gated metric
    retention: Interval | None = None
    threshold: float | None = None
    latency_ratio: Interval | None = None
    energy_ratio: float | None = None
    samples: int | None = None


@dataclass
class MatrixRow:
    model: str
    variant: str
    baseline: bool
    cells: dict[str, Cell] = field(default_factory=dict)
    footprint: float | None = None  # in the footprint metric's unit
    footprint_ratio: float | None = None  # against the model's baseline
    latency_ratio: Interval | None = None  # the median over the tasks
    latency_task: str | None = None  # the task whose ratio is that median
    energy_ratio: float | None = None  # the median over the tasks

    @property
    def label(self) -> str:
        return f"{self.model} / {self.variant}"

    @property
    def verdict(self) -> str:
        """Over every task: baseline, or the worst cell verdict."""
        if self.baseline:
            return "baseline"
        verdicts = [c.verdict for c in self.cells.values()]
        for v in ("fail", "superseded", "inconclusive", "pass"):
            if v in verdicts:
                return v
        return "-"


@dataclass
class DecisionMatrix:
    tasks: list[str]
    rows: list[MatrixRow]
    footprint_unit: str = ""
    energy_metric: str | None = None
    confidence: float | None = None

    def by_model(self) -> list[tuple[str, list[str], list[MatrixRow]]]:
        """(model, the tasks it ran, its rows) per model: each model's table has no empty
        columns."""
        out = []
        for model in dict.fromkeys(r.model for r in self.rows):
            rows = [r for r in self.rows if r.model == model]
            tasks = [t for t in self.tasks if any(t in r.cells for r in rows)]
            out.append((model, tasks, rows))
        return out


def footprint_metric(results: list[TaskResult]) -> Measurement | None:
    """The variant's own size in memory: a metric named footprint, else the headline size."""
    named = next((m for r in results for n, m in r.metrics.items()
                  if "footprint" in n and m.value is not None), None)
    return named or primary(results, "size") or primary(results, "memory")


def _ratio(row: Row, base: Row | None, metric: str | None) -> float | None:
    if base is None or metric is None:
        return None
    v, b = row.value(metric), base.value(metric)
    return None if v is None or not b else v / b


def _cell(view: RunView, row: Row, energy: str | None) -> Cell:
    cell = Cell(row.verdict, samples=row.result.info.get("samples"),
                latency_ratio=Interval.of(row.timing("latency_ratio")),
                energy_ratio=_ratio(row, view.baseline_of(row), energy))
    weakest = row.weakest
    if weakest is not None:
        name, g = weakest
        cell.metric, cell.threshold = name, float(g["threshold"])
        if g.get("retention") is not None:
            cell.retention = Interval(float(g["retention"]), g.get("low"), g.get("high"))
    return cell


def _median_latency(cells: dict[str, Cell]) -> tuple[Interval | None, str | None]:
    """The (lower) median latency ratio over the tasks, with the interval of its task."""
    have = sorted(((c.latency_ratio.value, t) for t, c in cells.items() if c.latency_ratio),
                  key=lambda p: p[0])
    if not have:
        return None, None
    task = have[(len(have) - 1) // 2][1]
    return cells[task].latency_ratio, task


def decision_matrix(view: RunView) -> DecisionMatrix:
    """The matrix of a run: one row per model x variant in the view's order."""
    results = view.results
    foot = footprint_metric(results)
    energy = primary(results, "energy")
    rows: dict[tuple[str, str], MatrixRow] = {}
    for w in view.rows:
        mrow = rows.setdefault((w.model, w.variant), MatrixRow(w.model, w.variant, w.baseline))
        mrow.cells[w.task] = _cell(view, w, energy.name if energy else None)
        if foot is not None and mrow.footprint is None:
            mrow.footprint = w.value(foot.name)
            mrow.footprint_ratio = _ratio(w, view.baseline_of(w), foot.name)
    for mrow in rows.values():
        mrow.latency_ratio, mrow.latency_task = _median_latency(mrow.cells)
        energies = [c.energy_ratio for c in mrow.cells.values() if c.energy_ratio is not None]
        mrow.energy_ratio = statistics.median(energies) if energies else None
    confidence = next((g.get("confidence") for w in view.rows for g in w.gates.values()
                       if g.get("confidence") is not None), None)
    return DecisionMatrix(view.tasks, list(rows.values()), foot.unit if foot else "",
                          energy.name if energy else None, confidence)
