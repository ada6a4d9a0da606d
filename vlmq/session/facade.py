"""One benchmark session: the facade the pytest plugin, the sensitivity sweep and the zoo's
evaluation drive. It checks the settings, owns the run folder and wires the parts, each of
which hands the next a plain value:

    plan (cases, tasks) -> task data (subsets) -> runner (load, evaluate, score)
        -> judge (retention, gates) -> looks (--vlmq-samples auto)

Everything here also works without pytest (the sweep and the tests call it directly).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from vlmq.config import RunConfig
from vlmq.data.loading import TaskDataset
from vlmq.errors import VlmqError
from vlmq.evaluate import BatchRunner, plain_runner
from vlmq.loading import LoadedModel, default_baseline, resolve_device, unload
from vlmq.measure.memory import freeze_long_lived_objects
from vlmq.placement import Placement
from vlmq.results.schema import TaskResult
from vlmq.results.store import RunStore
from vlmq.results.taskkey import TaskKey
from vlmq.session.case import Case, Held
from vlmq.session.folder import RunFolder
from vlmq.session.judge import Judge
from vlmq.session.looks import Looks
from vlmq.session.machine import prepare_machine
from vlmq.session.plan import Planner
from vlmq.session.runner import Runner
from vlmq.session.taskdata import TaskData
from vlmq.tasks import TASKS, prestart
from vlmq.tasks.base import Task
from vlmq.variants.keep import split_variant_id
from vlmq.variants.registry import VARIANTS


class BenchmarkSession:
    def __init__(self, config: RunConfig, worker: str = "", prestart: bool = False) -> None:
        """prestart: start the scorers' one-time set-up (METEOR's JVM) now, in the background,
        so that it overlaps the checks' imports; the first load waits for it
        (`vlmq.tasks.prestart`). The pytest plugin asks for it unless it only collects."""
        self.config = config
        self.worker = worker  # the pytest-xdist worker running this session, if any
        self.device = resolve_device(config.device)
        self.baseline = (default_baseline(self.device) if config.baseline == "auto"
                         else config.baseline)
        VARIANTS.get(split_variant_id(self.baseline)[0])  # fail early on a misspelt baseline
        # max_memory's device names are checked here (the config checks only the sizes)
        Placement(self.device, config.device_map, config.max_memory)
        machine = prepare_machine(config, self.device, worker)
        self.folder = RunFolder(config.reports_dir, config.run_id,
                                lambda run_id: self._resolved(run_id).to_dict())
        self.plan = Planner(config, self.baseline)
        self.tasks = TaskData(config, self.folder)
        self.runner = Runner(config, machine, self.plan, self.tasks, self.folder)
        self.judge = Judge(config, self.plan, self.tasks, self.runner.stored)
        self.looks = Looks(config, self.runner, self.judge)
        if prestart:
            self._prestart()
        self.preflight()
        freeze_long_lived_objects()  # nothing is loaded yet; see its docstring

    def preflight(self) -> None:
        """Every check of the user's input that can fail, before any run folder is written or
        model loaded: variant, task and model names, dataset overrides (they exist and have
        the task's columns), the reports dir, and a resumed run's folder (readable, same
        settings, no other live process on it)."""
        self.plan.variants()
        for model in self.config.models:
            self.plan.tasks_for(model)
        for name in self.config.datasets:
            self.tasks.full_dataset(name)
        if self.config.auto_samples and self.config.shard:
            raise VlmqError("--vlmq-samples auto cannot be sharded (--vlmq-shard): each shard "
                            "would grow its own baseline; decide the undecided variants with "
                            "auto in one run, or set --vlmq-samples to a number")
        self.folder.check()

    def _prestart(self) -> None:
        """Start the set-up of the tasks this run will score, when every model's kind can be
        read from its folder without importing transformers (otherwise scoring starts it)."""
        models = [*self.config.models, *filter(None, [self.config.baseline_model])]
        kinds = {self.plan.declared_kind(m) for m in models}
        if None in kinds:
            return
        names = self.config.tasks or TASKS.names()
        prestart.start(self.tasks.task(n) for n in names if n in TASKS
                       and TASKS.get(n).kind in kinds)

    def _resolved(self, run_id: str) -> RunConfig:
        """The config as stored in the run folder: device, baseline and run id resolved."""
        return dataclasses.replace(self.config, device=self.device, baseline=self.baseline,
                                   run_id=run_id)

    # -- the run folder ------------------------------------------------------------------------

    @property
    def store(self) -> RunStore:
        """The run folder, created on first use (collecting benchmarks writes nothing)."""
        return self.folder.store

    @property
    def store_created(self) -> bool:
        return self.folder.created

    def close(self) -> None:
        self.folder.close()

    def finish(self) -> Path:
        """Summary, plots, spot-check and the Markdown report of the run."""
        from vlmq.report import build_report

        return build_report(self.store.root, image_lookup=self.tasks.image_lookup)

    # -- what to run (the plan and its data) ---------------------------------------------------

    def cases(self) -> list[Case]:
        return self.plan.cases()

    def tasks_for(self, model: str) -> list[str]:
        return self.plan.tasks_for(model)

    def model_kind(self, model: str) -> str:
        return self.plan.model_kind(model)

    def task(self, name: str) -> Task:
        return self.tasks.task(name)

    def data(self, task_name: str, full: bool = False) -> TaskDataset:
        return self.tasks.data(task_name, full)

    def max_new_tokens(self, task: Task) -> int:
        return self.tasks.max_new_tokens(task)

    # -- running and judging -------------------------------------------------------------------

    def load(self, case: Case) -> LoadedModel:
        return self.runner.load(case)

    def stored_result(self, case: Case, task_name: str, full: bool = False) -> TaskResult | None:
        return self.runner.stored(case, TaskKey(task_name, full))

    def run(self, loaded: LoadedModel | None, case: Case, task_name: str, *, full: bool = False,
            runner: BatchRunner = plain_runner, measure: bool = True, test: str = "",
            retime: bool = False) -> TaskResult:
        """Evaluate and judge one task on one loaded variant; resumes from stored records.
        `test` names the caller (a pytest node id) in the result. `loaded` may be None only
        for a task finished earlier (`stored_result`), which is returned without a model.

        A task finished earlier is returned as stored (notes say so and when it was measured);
        with `retime`, an interrupted one runs every batch again for the timer while keeping
        the stored records. The task is held (`RunStore.task_lock`) while it runs, so that in
        a distributed run a task is evaluated by one process only."""
        key = TaskKey(task_name, full)
        with self.store.task_lock(case.model, case.variant_key, str(key)):
            stored = self.runner.stored(case, key)
            if stored is not None:
                stored.notes["resumed"] = "finished earlier in this run; not recomputed"
                stored.notes["measured_at"] = self.store.finished_at(
                    case.model, case.variant_key, str(key))
                return stored
            if loaded is None:
                raise VlmqError(f"{case.id} {key}: not finished, so it needs a loaded model")
            result = self.runner.evaluate(loaded, case, key, runner=runner, measure=measure,
                                          test=test, retime=retime)
            if self.plan.is_synthetic(case.model):
                self.judge.time_against_baseline(result, case, key)
            else:
                self.judge.judge(result, case, key)
            self.runner.finish(case, key, result)
            return result

    def ensure_baseline(self, case: Case, tasks: list[tuple[str, bool]]) -> None:
        """Compute the baseline's scores for `tasks` unless this run already has them: called
        before a non-baseline variant is loaded, so that only one model is in memory. Measured
        in full (energy too): in a sharded or distributed run this may be the baseline's only
        result."""
        if self.plan.is_synthetic(case.model):
            return  # random weights: nothing to retain, so no baseline scores are needed
        base = self.plan.baseline_case(case)
        missing = [(t, f) for t, f in tasks if self.stored_result(base, t, f) is None]
        if not missing:
            return
        loaded = self.load(base)
        try:
            for t, f in missing:
                self.run(loaded, base, t, full=f)
        finally:
            unload(loaded)

    def decide(self, held: Held, task_name: str, result: TaskResult, test: str = ""
               ) -> TaskResult:
        """--vlmq-samples auto: later looks until `result`'s gates are decided (`looks.py`)."""
        return self.looks.decide(held, task_name, result, test)

    def gate(self, result: TaskResult) -> list[str]:
        """One failure message per gated metric that fails under the run's gate policy."""
        return self.judge.failures(result)

    def inconclusive(self, result: TaskResult) -> list[str]:
        return self.judge.inconclusive(result)
