"""One computed view of a run that every renderer reads: its rows, their verdicts and their order.

report.md, report.html, the plots, the spot check, the terminal summary and `vlmq recommend`
all need the same facts about each model x variant x task: is it the baseline, which gates it
has (interval gates, or point retention for older runs), its verdict, which metric is the
weakest, and where it sorts. They are derived here once, from the stored results, so the
renderers only format them. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from vlmq.results.gates import gate_checks, passed
from vlmq.results.schema import TaskResult
from vlmq.results.summary import is_baseline, superseded
from vlmq.stats.gates import DEFAULT_GATE_POLICY

# worst first: the verdict of several gates is the first of these that any of them has
SEVERITY = ("fail", "inconclusive", "pass")


def variant_order(results: list[TaskResult], order: list[str] | None = None) -> list[str]:
    """Baselines first, then `order` (the config's variant list), then as seen."""
    seen = list(dict.fromkeys(str(r.info.get("variant")) for r in results))
    base = [v for v in seen if any(is_baseline(r) and r.info.get("variant") == v for r in results)]
    rest = [v for v in (order or []) if v in seen and v not in base]
    return base + rest + [v for v in seen if v not in base and v not in rest]


def gates_of(result: TaskResult, policy: str = DEFAULT_GATE_POLICY) -> dict[str, dict[str, Any]]:
    """The result's interval gates; for runs without them, point retention vs threshold."""
    if result.gates:
        return dict(result.gates)
    return {name: {"retention": ret, "threshold": thr, "verdict": "pass" if ok else "fail",
                   "low": None, "high": None, "method": "point retention"}
            for name, (ret, thr, ok) in gate_checks(result, policy).items()}


def worst(verdicts: list[str]) -> str | None:
    """The most severe of gate verdicts (fail, then inconclusive, then pass); None for none."""
    return next((v for v in SEVERITY if v in verdicts), None)


@dataclass
class Row:
    """One model x variant x task with everything a renderer says about it."""

    result: TaskResult
    policy: str = DEFAULT_GATE_POLICY

    @property
    def model(self) -> str:
        return str(self.result.info.get("model"))

    @property
    def variant(self) -> str:
        return str(self.result.info.get("variant"))

    @property
    def task(self) -> str:
        return str(self.result.info.get("task"))

    @property
    def baseline(self) -> bool:
        return is_baseline(self.result)

    @property
    def superseded(self) -> bool:
        return superseded(self.result)

    @cached_property
    def gates(self) -> dict[str, dict[str, Any]]:
        return gates_of(self.result, self.policy)

    @cached_property
    def passed(self) -> bool | None:
        """Under the run's gate policy: True/False, None when nothing is gated."""
        return passed(self.result, self.policy)

    @property
    def verdict(self) -> str:
        """baseline | superseded | - (not gated) | fail | inconclusive | pass."""
        if self.baseline:
            return "baseline"
        if self.superseded:
            return "superseded"
        return worst([g["verdict"] for g in self.gates.values()]) or "-"

    @property
    def weakest(self) -> tuple[str, dict[str, Any]] | None:
        """The gated metric closest to failing (lowest interval end, else retention, over its
        threshold) and its gate."""
        def margin(item: tuple[str, dict[str, Any]]) -> float:
            g = item[1]
            end = g.get("low") if g.get("low") is not None else g.get("retention")
            return (end if end is not None else float("-inf")) - float(g["threshold"])
        return min(self.gates.items(), key=margin) if self.gates else None

    def value(self, metric: str) -> float | None:
        m = self.result.metrics.get(metric)
        return None if m is None else m.value

    def timing(self, key: str) -> dict[str, Any] | None:
        """An interval of info["timing"] (median_batch_s, latency_ratio ...), None if absent."""
        return (self.result.info.get("timing") or {}).get(key)


@dataclass
class RunView:
    """The rows of a run in display order, with the order of its tasks, models and variants."""

    results: list[TaskResult]
    policy: str = DEFAULT_GATE_POLICY
    config_order: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, results: list[TaskResult], config: dict[str, Any] | None = None) -> RunView:
        config = config or {}
        return cls(results, str(config.get("gate") or DEFAULT_GATE_POLICY),
                   list(config.get("variants") or []))

    @cached_property
    def order(self) -> list[str]:
        return variant_order(self.results, self.config_order)

    @cached_property
    def rows(self) -> list[Row]:
        """Every result, by model, then variant order, then task order."""
        rank = {v: i for i, v in enumerate(self.order)}
        task_rank = {t: i for i, t in enumerate(self.tasks)}
        rows = [Row(r, self.policy) for r in self.results]
        return sorted(rows, key=lambda w: (w.model, rank.get(w.variant, len(rank)),
                                           task_rank.get(w.task, 0)))

    @cached_property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(str(r.info.get("task")) for r in self.results))

    @cached_property
    def models(self) -> list[str]:
        return list(dict.fromkeys(str(r.info.get("model")) for r in self.results))

    def for_task(self, task: str) -> list[Row]:
        return [w for w in self.rows if w.task == task]

    def results_for(self, task: str) -> list[TaskResult]:
        return [w.result for w in self.for_task(task)]

    def baseline_of(self, row: Row) -> Row | None:
        """The baseline row of the same model and task."""
        return next((w for w in self.rows if w.baseline and w.model == row.model
                     and w.task == row.task), None)

    def gated(self) -> list[Row]:
        """Rows with a gate verdict of their own (no baseline, no superseded look)."""
        return [w for w in self.rows if w.passed is not None and not w.superseded]

    def verdict_rows(self) -> list[dict[str, Any]]:
        """One row per (model, variant, task, gated metric) of every non-baseline result."""
        return [{"model": w.model, "variant": w.variant, "task": w.task, "metric": metric,
                 "value": w.value(metric), **g}
                for w in self.rows if not w.baseline for metric, g in w.gates.items()]
