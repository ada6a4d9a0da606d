"""Judging a session's result: retention against the baseline's stored result on the same
samples, the thresholds of the run's settings, the gates (`vlmq.results.gates.judge_against`,
which `vlmq merge` calls too), the latency ratio, and the messages a test shows."""

from __future__ import annotations

from collections.abc import Callable

from vlmq.config import RunConfig
from vlmq.results.gates import bootstrap_settings, gate_failures, judge_against
from vlmq.results.measures import timed_rounds
from vlmq.results.schema import TaskResult
from vlmq.results.taskkey import TaskKey
from vlmq.session.case import Case
from vlmq.session.plan import Planner
from vlmq.session.taskdata import TaskData
from vlmq.stats.gates import describe
from vlmq.stats.timing import latency_ratio


class Judge:
    def __init__(self, config: RunConfig, plan: Planner, data: TaskData,
                 stored: Callable[[Case, TaskKey], TaskResult | None]) -> None:
        self.config = config
        self.plan = plan
        self.data = data
        self.stored = stored  # the finished result of a case's task key, or None

    def judge(self, result: TaskResult, case: Case, key: TaskKey) -> None:
        """A non-baseline result judged against the baseline's result of the same key (the
        baseline variant with a quantized KV cache is judged against its full cache)."""
        if case.variant == self.plan.baseline and case.kv == "full":
            return
        base = self.stored(self.plan.baseline_case(case), key)
        if base is None:
            result.notes["retention"] = "no baseline result in this run"
            return
        cfg = self.config

        def threshold(metric: str) -> float:
            return cfg.threshold_for(case.variant, int(result.info["bits"]), metric)

        judge_against(result, base, self.data.task(key.task).metrics,
                      bootstrap_settings(cfg, self.gate_confidence(key)), threshold)
        self._latency_ratio(result, base)

    def time_against_baseline(self, result: TaskResult, case: Case, key: TaskKey) -> None:
        """The latency ratio alone (a synthetic model: speed only, nothing to retain)."""
        base = self.stored(self.plan.baseline_case(case), key)
        if case.variant != self.plan.baseline and base is not None:
            self._latency_ratio(result, base)

    def _latency_ratio(self, result: TaskResult, base: TaskResult) -> None:
        cfg = self.config
        ratio = latency_ratio(timed_rounds(result), timed_rounds(base), cfg.confidence,
                              cfg.bootstrap_resamples, cfg.seed)
        if ratio is not None and "timing" in result.info:
            result.info["timing"]["latency_ratio"] = ratio

    def gate_confidence(self, key: TaskKey) -> float:
        """The confidence of a gate interval: the run's, or for the fast run with samples
        auto, its error rate split across the task's looks."""
        if key.full or not self.config.auto_samples:
            return self.config.confidence
        return self.data.look_confidence(key.task)

    def failures(self, result: TaskResult) -> list[str]:
        """One failure message per gated metric that fails under the run's gate policy."""
        return gate_failures(result, self.config.gate)

    @staticmethod
    def inconclusive(result: TaskResult) -> list[str]:
        """`<variant> <task> <metric>: inconclusive at n=... (low..high vs thr); ~N decide`."""
        info = result.info
        return [f"{info['variant']} {info['task']} {describe(name, g)}"
                for name, g in result.gates.items() if g["verdict"] == "inconclusive"]

    @staticmethod
    def undecided(result: TaskResult) -> bool:
        """True while a gate's interval straddles its threshold."""
        return any(g["verdict"] == "inconclusive" for g in result.gates.values())
