"""Running one case: load the variant, evaluate a task with the trackers around the model's
work, score the records, and build the unjudged result (quality, speed, memory, energy and
the settings it was measured with). Retention and gates are the judge's (`judge.py`)."""

from __future__ import annotations

from dataclasses import replace

from vlmq.config import RunConfig
from vlmq.data.loading import TaskDataset
from vlmq.devices import device_type, dtype_name
from vlmq.errors import UnavailableError, VlmqError
from vlmq.evaluate import BatchRunner, EvalOutcome, evaluate, plain_runner
from vlmq.inputs import default_prefetch
from vlmq.kvcache import kv_cache_options, kv_unavailable_reason
from vlmq.loading import (
    LoadedModel,
    adapter_for,
    import_backend,
    load_variant,
    read_config,
    resolve_source,
    unload,
)
from vlmq.measure.energy import EnergyTracker
from vlmq.measure.estimate import Workload
from vlmq.measure.hardware import decode_and_prefill_work, limits_for, remeasured_limits
from vlmq.models.base import ModelAdapter
from vlmq.models.modes import generation_options, mode_unavailable_reason
from vlmq.results.measures import (
    add_energy,
    add_first_call,
    add_hardware_limits,
    add_kv_cache,
    add_memory,
    add_speed,
    beats_bound,
    mark_synthetic,
)
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.results.store import RunStore
from vlmq.results.taskkey import TaskKey
from vlmq.session.case import Case
from vlmq.session.first_batch import longest_first_batch_prompt
from vlmq.session.folder import RunFolder
from vlmq.session.machine import Machine
from vlmq.session.plan import Planner
from vlmq.session.scoring import Scorer, add_timing_intervals
from vlmq.session.taskdata import TaskData
from vlmq.tasks import prestart
from vlmq.tasks.base import Task

BOUND_PROBES = 3  # per process: the first probe and two more when a model beat it


def add_bounds(result: TaskResult, records: list[SampleRecord], device: str,
               work: tuple[int, float | None], dtype: str | None = None) -> None:
    """The entry's decode and prefill against the device's limits. A model cannot beat a bound
    measured right: an efficiency above 1 means every repeat of the probe was slowed, so the
    limits are probed again (up to BOUND_PROBES probes a process, keeping the best) before the
    figures stand. `dtype`: what an unquantized variant computes in (its prefill bound is at
    that dtype's peak; vlmq.measure.hardware.limits_for)."""
    limits = limits_for(device, dtype)
    add_hardware_limits(result, records, limits, *work)
    while beats_bound(result) and limits["probes"] < BOUND_PROBES:
        remeasured_limits(device)
        limits = limits_for(device, dtype)
        add_hardware_limits(result, records, limits, *work)
    if beats_bound(result):
        result.notes["bound_beaten"] = (
            f"an efficiency above 1 after {limits['probes']} probes of this device's limits: "
            f"the bound is a measurement, slowed here in every probe")


def dense_dtype(loaded: LoadedModel) -> str | None:
    """The dtype an unquantized variant computes in; None for a quantized one (its kernel may
    compute in another)."""
    if loaded.variant.quantizes or loaded.variant.bits == 0:
        return None
    return dtype_name(loaded.model.dtype)


class Runner:
    def __init__(self, config: RunConfig, machine: Machine, plan: Planner, data: TaskData,
                 folder: RunFolder) -> None:
        self.config = config
        self.machine = machine
        self.plan = plan
        self.data = data
        self.folder = folder
        self.scorer = Scorer(config, machine, plan, data, folder)
        self._prompts: dict[str, int | None] = {}  # per model: its first batches' prompt

    @property
    def store(self) -> RunStore:
        return self.folder.store

    def load(self, case: Case) -> LoadedModel:
        from vlmq.measure.memory import PeakMemory

        device = self.machine.device
        try:
            # import the family's model code first: its modules' pages are the process's, not
            # the model's memory
            source = resolve_source(case.model)
            adapter = adapter_for(read_config(source))
            adapter.auto_class()
            import_backend(case.variant, device)
            # the first batch's prompt is prepared outside the measured window too
            work = self.workload(case.model, adapter, source)
            prestart.wait()  # the scorers' set-up never runs beside a load or a timed call
            # measured, so that the model's memory can be told from the process's
            with PeakMemory(device) as memory:
                loaded = load_variant(case.model, case.variant, device=device,
                                      settings=self.machine.settings,
                                      attn_implementation=case.attn,
                                      device_map=self.config.device_map,
                                      max_memory=self.config.max_memory,
                                      workload=work, memory=memory)
        except UnavailableError as exc:
            self.store.write_skip(case.model, case.variant_key, None, str(exc))
            raise
        loaded.load_memory = memory.result
        try:
            self._set_generation(loaded, case)
        except UnavailableError as exc:
            unload(loaded)
            self.store.write_skip(case.model, case.variant_key, None, str(exc))
            raise
        self.store.write_structure(case.model, case.variant_key, loaded.structure())
        return loaded

    def workload(self, model: str, adapter: ModelAdapter, source: str) -> Workload:
        """The batch the memory estimate sizes (vlmq.fit): the run's batch size and new-token
        cap (64, the longest task default, when the tasks decide), and the longest prompt of
        the first batch of each task the model runs (vlmq.session.first_batch)."""
        work = Workload(batch=self.config.batch_size, new_tokens=self.config.max_new_tokens or 64)
        if model not in self._prompts:
            self._prompts[model] = self._first_batch_prompt(model, adapter, source)
        prompt = self._prompts[model]
        return replace(work, prompt_tokens=prompt, prompt_measured=True) if prompt else work

    def _first_batch_prompt(self, model: str, adapter: ModelAdapter,
                           source: str) -> int | None:
        if adapter.kind != "generate":
            return None  # a classifier's workload is its patches (vlmq.loading)
        try:
            batches = [(self.data.task(name), self.data.data(name))
                       for name in self.plan.tasks_for(model)]
        except VlmqError:  # a dataset that cannot load is the task's error, reported there
            return None
        return longest_first_batch_prompt(adapter, source, batches, self.config.batch_size)

    def _set_generation(self, loaded: LoadedModel, case: Case) -> None:
        """The generation mode's options, and the fixed token count where asked or synthetic."""
        if loaded.adapter.kind != "generate":
            if case.kv != "full":
                raise UnavailableError(f"KV cache {case.kv}: {loaded.adapter.family} models do "
                                       f"not generate, so they keep no KV cache")
            return
        reason = mode_unavailable_reason(self.config.generation, loaded.model)
        if reason:
            raise UnavailableError(reason)
        reason = kv_unavailable_reason(case.kv, loaded.model)
        if reason:
            raise UnavailableError(reason)
        options = generation_options(self.config.generation, device_type(self.machine.device))
        options.update(kv_cache_options(case.kv, self.config.generation))
        if self.config.fixed_new_tokens or self.plan.is_synthetic(case.model):
            options["fixed_new_tokens"] = True
        loaded.generate_options = options

    def stored(self, case: Case, key: TaskKey) -> TaskResult | None:
        """The finished result of `key`, or None."""
        if self.store.is_finished(case.model, case.variant_key, str(key)):
            return self.store.read_result(case.model, case.variant_key, str(key))
        return None

    def evaluate(self, loaded: LoadedModel, case: Case, key: TaskKey, *,
                 runner: BatchRunner = plain_runner, measure: bool = True, test: str = "",
                 retime: bool = False) -> TaskResult:
        """The task evaluated from where the run folder left it, timed, measured, scored."""
        from vlmq.measure.memory import PeakMemory

        task, data = self.data.task(key.task), self.data.data(key.task, key.full)
        synthetic = self.plan.is_synthetic(case.model)
        if task.kind == "classify" and not synthetic:
            check_label_space(loaded, data)
        first_call = len(loaded.call_times_s)
        first_task = not loaded.warmed_by  # this task makes the load's first call
        warmup = self.warmup_rounds(loaded)
        done = self.store.completed(case.model, case.variant_key, str(key))
        device = self.machine.device
        # energy outside memory: codecarbon's first import must not count as the task's peak;
        # it measures the model calls alone (their "first_call" and "timed" windows)
        with EnergyTracker(device, self.config.country_iso_code,
                           enabled=measure and self.config.energy) as energy, \
                PeakMemory(device) as memory:
            outcome = self.evaluation_pass(loaded, case, task, key, data, done, runner=runner,
                                           warmup_rounds=warmup, retime=retime,
                                           energy=energy)
        if first_task and len(loaded.call_times_s) > first_call:
            loaded.warmed_by = str(key)
        result = self.scored(loaded, case, task, key, data, outcome)
        if test:
            result.info["test"] = test
        if outcome.kept:
            result.notes["retimed"] = (
                f"interrupted earlier: the records of {outcome.kept} samples were kept; all "
                f"{outcome.timed_batches} batches were re-timed now for the benchmark stats")
        add_speed(result, outcome.records)
        add_timing_intervals(result, self.config, outcome.records)
        add_memory(result, memory.result, loaded)
        add_energy(result, energy.result("timed"), energy.result("first_call"),
                   max(1, len(outcome.records) - len(outcome.failed)))
        first = slice(first_call, first_call + 1 if warmup or first_task else first_call)
        add_first_call(result, loaded.call_times_s[first],
                       self.config.generation == "compiled" and task.kind == "generate",
                       loaded.call_cpu_s[first], loaded.call_wait_s[first])
        if not warmup and not first_task and self.config.warmup_rounds:
            result.notes["warm_start"] = (
                f"no warm-up call: this load had run {loaded.warmed_by} first, so the task "
                f"started warm (eager mode); first_call_s is that task's")
        if task.kind == "generate":
            add_kv_cache(result, loaded, case.kv, outcome.records,
                         loaded.prompt_lengths[first_call:])
        if measure and task.kind == "generate":
            add_bounds(result, outcome.records, device,
                       decode_and_prefill_work(loaded, first_call), dense_dtype(loaded))
        if synthetic:
            mark_synthetic(result)
        return result

    def warmup_rounds(self, loaded: LoadedModel) -> int:
        """The untimed batches before this task's timed ones. A load warms up once, on its
        first task: allocator growth, lazy kernel set-up and 4-bit repacking are the load's,
        paid by then, and the warm-up of every later task re-ran its first batch for nothing
        (6.4 s of the main job's 181 s). Static-cache and compiled decoding warm up every task:
        a new input shape allocates or compiles again."""
        if loaded.warmed_by and self.config.generation == "eager":
            return 0
        return self.config.warmup_rounds

    def evaluation_pass(self, loaded: LoadedModel, case: Case, task: Task, key: TaskKey,
                        data: TaskDataset, done: dict[str, SampleRecord], *,
                        runner: BatchRunner = plain_runner, warmup_rounds: int = 0,
                        retime: bool = False, energy: EnergyTracker | None = None
                        ) -> EvalOutcome:
        """One evaluation pass over `data` (the samples not in `done`), each batch's records
        appended to the run folder under `key` as it finishes."""

        def save(recs: list[SampleRecord]) -> None:
            self.store.append(case.model, case.variant_key, str(key), recs)

        return evaluate(
            loaded, task, data, batch_size=self.config.batch_size,
            max_new_tokens=self.data.max_new_tokens(task), done=done, on_records=save,
            runner=runner, warmup_rounds=warmup_rounds,
            prefetch=default_prefetch(self.machine.device), retime=retime,
            show_progress=self.config.progress, desc=f"{case.id} {key}",
            long_prompts=self.config.long_prompts, energy=energy,
        )

    def scored(self, loaded: LoadedModel, case: Case, task: Task, key: TaskKey,
               data: TaskDataset, outcome: EvalOutcome) -> TaskResult:
        """The pass's records scored, rewritten with their per-sample scores next to each
        prediction, and the result's quality and settings."""
        score = self.scorer.score(task, data, outcome)
        self.store.rewrite_records(case.model, case.variant_key, str(key), outcome.records)
        return self.scorer.result(loaded, case, task, key, data, outcome, score)

    def finish(self, case: Case, key: TaskKey, result: TaskResult) -> None:
        """Store the judged result and mark the task finished."""
        self.store.write_result(result)
        self.store.mark_finished(case.model, case.variant_key, str(key))


def check_label_space(loaded: LoadedModel, data: TaskDataset) -> None:
    """Classification is scored by class index: the model's classes must be the dataset's."""
    model_names = loaded.adapter.label_names(loaded.model)
    if model_names and data.label_names and len(model_names) != len(data.label_names):
        raise VlmqError(
            f"{loaded.name} predicts {len(model_names)} classes but {data.source} has "
            f"{len(data.label_names)}; classes are matched by index, so use a checkpoint "
            f"fine-tuned on this dataset"
        )
