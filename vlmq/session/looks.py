"""--vlmq-samples auto: while a gate of the fast run is inconclusive and a look is left, grow
the subset to the next look (the baseline first, then the variant, evaluating only the new
samples) and judge again. The statistics are `vlmq.stats.sequential`'s; this is the order of
work, with only one model in memory: the fixture's model is set aside through the fixture's
own `Held.released`, never reloaded from here."""

from __future__ import annotations

import dataclasses

from vlmq.config import RunConfig
from vlmq.errors import VlmqError
from vlmq.loading import LoadedModel, unload
from vlmq.results.schema import TaskResult
from vlmq.results.taskkey import TaskKey
from vlmq.session.case import Case, Held
from vlmq.session.judge import Judge
from vlmq.session.runner import Runner


class Looks:
    def __init__(self, config: RunConfig, runner: Runner, judge: Judge) -> None:
        self.config = config
        self.runner = runner
        self.judge = judge
        self.plan, self.data = runner.plan, runner.data

    def decide(self, held: Held, task_name: str, result: TaskResult,
               test: str = "") -> TaskResult:
        """Later looks of `result` until its gates are decided or no look is left; returns the
        last look's result. Each look is a task key of its own (`caption@256`) for the
        baseline and the variant, so that every retention pairs results on the same samples,
        and an interrupted run resumes at the look it was in."""
        case, store = held.case, self.runner.store
        if (not self.config.auto_samples or case.variant == self.plan.baseline
                or self.plan.is_synthetic(case.model)):
            return result
        for n in self.data.looks(task_name)[1:]:
            if not self.judge.undecided(result):
                break
            key = TaskKey(task_name, look=n)
            with store.task_lock(case.model, case.variant_key, str(key)):
                grown = self.runner.stored(case, key)
                if grown is None:
                    self._baseline_look(held, key)
                    grown = self.grow(held.loaded, case, key, result, test)
            if result.info.get("next_look") != str(key):  # superseded, not undecided
                result.info["next_look"] = str(key)
                store.write_result(result)
            result = grown
        return result

    def _baseline_look(self, held: Held, key: TaskKey) -> None:
        """The baseline's scores at look `key`, unless stored: the held model is set aside
        for it, so only one model is ever in memory."""
        base = self.plan.baseline_case(held.case)
        store = self.runner.store
        with store.task_lock(base.model, base.variant_key, str(key)):
            if self.runner.stored(base, key) is not None:
                return
            sizes = self.data.looks(key.task)
            before = sizes[sizes.index(key.look) - 1]
            prev = self.runner.stored(base, TaskKey(key.task) if before == sizes[0]
                                      else key.at_look(before))
            if prev is None:
                raise VlmqError(f"run {store.run_id!r}: the baseline has no result at "
                                f"{before} samples of {key.task}, so look {key.look} cannot "
                                f"extend it")
            with held.released():
                loaded = self.runner.load(base)
                try:
                    self.grow(loaded, base, key, prev, "")
                finally:
                    unload(loaded)

    def grow(self, loaded: LoadedModel, case: Case, key: TaskKey, prev: TaskResult,
             test: str) -> TaskResult:
        """`prev`'s look extended to `key.look` samples: its records reused, the new samples
        evaluated (untimed by pytest-benchmark), quality and gates on all of them. Speed,
        memory and energy stay those measured at the first look: a look only adds quality
        samples."""
        runner, n = self.runner, key.look
        task, data = self.data.task(key.task), self.data.data(key.task, n=n)
        position = {str(sid): i for i, sid in enumerate(data.dataset["sample_id"])}
        earlier = runner.store.completed(case.model, case.variant_key, str(prev.info["task"]))
        done = {sid: dataclasses.replace(rec, index=position[sid]) for sid, rec in earlier.items()}
        done.update(runner.store.completed(case.model, case.variant_key, str(key)))
        outcome = runner.evaluation_pass(loaded, case, task, key, data, done)
        result = runner.scored(loaded, case, task, key, data, outcome)
        result.metrics.update({name: m for name, m in prev.metrics.items()
                               if m.kind != "quality"})
        result.rounds_s = list(prev.rounds_s)
        # what the first look measured (timing intervals, first call ...); not its scores
        kept = {k: v for k, v in prev.info.items() if k not in ("next_look", "baseline_scores")}
        result.info = {**kept, **result.info}
        if test:
            result.info["test"] = test
        result.notes["samples_auto"] = (
            f"look {result.info['look']['sizes'].index(n) + 1} of {result.info['look']['of']}: "
            f"quality on {n} samples ({len(outcome.records) - len(earlier)} evaluated now, the "
            f"rest reused from the look before); speed, memory and energy as measured at the "
            f"first look ({prev.info['look']['sizes'][0]} samples)")
        self.judge.judge(result, case, key)
        runner.finish(case, key, result)
        return result
