"""One benchmark session: which cases to run, their data, the baseline, and each case's result.

This is the library side of the pytest plugin: `vlmq.plugin` builds a BenchmarkSession from the
options, parametrizes over `cases()`, and calls `load` / `run` / `gate`. Everything here also
works without pytest (the sensitivity sweep and the tests call it directly).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmq.config import RunConfig
from vlmq.data.loading import TaskDataset, load_task_dataset, select_subset
from vlmq.errors import UnavailableError, VlmqError
from vlmq.evaluate import BatchRunner, EvalOutcome, evaluate, plain_runner
from vlmq.inputs import default_prefetch
from vlmq.loading import (
    LoadedModel,
    adapter_for,
    default_baseline,
    get_variant,
    load_variant,
    read_config,
    resolve_device,
    resolve_source,
    unload,
)
from vlmq.measure.hardware import decode_and_prefill_work, hardware_limits
from vlmq.measure.memory import freeze_long_lived_objects
from vlmq.metrics.base import CorpusScore, retention
from vlmq.models.modes import generation_options, mode_unavailable_reason
from vlmq.placement import Placement
from vlmq.results.gates import gate_failures
from vlmq.results.lock import RunLock
from vlmq.results.measures import (
    add_energy,
    add_first_call,
    add_hardware_limits,
    add_memory,
    add_speed,
    mark_synthetic,
)
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.results.store import RunStore, check_writable_dir, safe_name
from vlmq.shard import shard_items
from vlmq.stats.bootstrap import BootstrapSettings
from vlmq.stats.gates import describe
from vlmq.stats.retention import result_gates
from vlmq.stats.sequential import look_confidence, look_sizes
from vlmq.stats.timing import latency_ratio, timing_intervals
from vlmq.tasks import TASKS, make_task
from vlmq.tasks.base import Task
from vlmq.variants.base import VARIANTS, VariantSettings
from vlmq.variants.keep import split_variant_id


@dataclass(frozen=True)
class Case:
    """One loaded model: the unit a session-scoped fixture holds in memory."""

    model: str
    variant: str
    attn: str = "sdpa"

    @property
    def variant_key(self) -> str:
        """The variant's name in run folders and results (attention noted when not sdpa)."""
        return self.variant if self.attn == "sdpa" else f"{self.variant}@{self.attn}"

    @property
    def id(self) -> str:
        return f"{self.model}-{self.variant_key}"


@dataclass
class Held:
    """The model a session-scoped fixture holds. `BenchmarkSession.decide` may unload it and
    load it again (to extend the baseline with only one model in memory)."""

    case: Case
    loaded: LoadedModel


def task_key(task: str, full: bool) -> str:
    return f"{task}-full" if full else task


def look_key(task: str, n: int) -> str:
    """The task key of a later look of --vlmq-samples auto: `caption@256`."""
    return f"{task}@{n}"


class BenchmarkSession:
    def __init__(self, config: RunConfig, worker: str = "") -> None:
        self.config = config
        self.worker = worker  # the pytest-xdist worker running this session, if any
        self.device = resolve_device(config.device)
        self.baseline = (default_baseline(self.device) if config.baseline == "auto"
                         else config.baseline)
        VARIANTS.get(split_variant_id(self.baseline)[0])  # fail early on a misspelt baseline
        # max_memory's device names are checked here (the config checks only the sizes)
        Placement(self.device, config.device_map, config.max_memory)
        self.settings = VariantSettings(
            int8_threshold=config.int8_threshold,
            bnb_4bit_compute_dtype=config.bnb_4bit_compute_dtype,
            bnb_4bit_double_quant=config.bnb_4bit_double_quant,
        )
        self._store: RunStore | None = None
        self.cpu_settings = self._prepare_torch()
        self._kinds: dict[str, str] = {}
        self._tasks: dict[str, Task] = {}
        self._data: dict[tuple[str, bool], TaskDataset] = {}
        self._synthetic: dict[str, bool] = {}
        self._full: dict[str, TaskDataset] = {}
        self._lock: RunLock | None = None
        self.preflight()
        freeze_long_lived_objects()  # nothing is loaded yet; see its docstring

    def preflight(self) -> None:
        """Every check of the user's input that can fail, before any run folder is written or
        model loaded: variant, task and model names, dataset overrides (they exist and have
        the task's columns), the reports dir, and a resumed run's folder (readable, same
        settings, no other live process on it)."""
        self.variants()
        for model in self.config.models:
            self.tasks_for(model)
        for name in self.config.datasets:
            self.full_dataset(name)
        if self.config.auto_samples and self.config.shard:
            raise VlmqError("--vlmq-samples auto cannot be sharded (--vlmq-shard): each shard "
                            "would grow its own baseline; decide the undecided variants with "
                            "auto in one run, or set --vlmq-samples to a number")
        reports = Path(self.config.reports_dir)
        check_writable_dir(reports, "--vlmq-reports-dir")
        if self.config.run_id and (reports / safe_name(self.config.run_id)).is_dir():
            root = reports / safe_name(self.config.run_id)
            RunLock(root).check_free(self.config.run_id)
            RunStore(reports, self.config.run_id).check_resume(
                self._resolved(self.config.run_id).to_dict())

    def _resolved(self, run_id: str) -> RunConfig:
        """The config as stored in the run folder: device, baseline and run id resolved."""
        return dataclasses.replace(self.config, device=self.device, baseline=self.baseline,
                                   run_id=run_id)

    def _prepare_torch(self) -> dict[str, Any]:
        """Sound CPU measurement: flushed denormals, a fixed thread count, a fixed seed."""
        import torch

        from vlmq.measure.machine import prepare_cpu

        torch.manual_seed(self.config.seed)
        return prepare_cpu(self.config.threads)

    @property
    def store(self) -> RunStore:
        """The run folder, created on first use (collecting benchmarks writes nothing)."""
        if self._store is None:
            store = RunStore(self.config.reports_dir, self.config.run_id or None)
            self._lock = RunLock(store.root).acquire(store.run_id)
            store.write_config(self._resolved(store.run_id).to_dict())
            self._store = store
        return self._store

    @property
    def store_created(self) -> bool:
        return self._store is not None

    def close(self) -> None:
        """Give the run folder back (the lock also goes when the process dies)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def finish(self) -> Path:
        """Summary, plots, spot-check and the Markdown report of the run."""
        from vlmq.report import build_report

        return build_report(self.store.root, image_lookup=self.image_lookup)

    def image_lookup(self, sample_id: str) -> Any:
        """The decoded image of a sample evaluated in this session (for the spot-check page)."""
        from vlmq.data.images import decode_image

        if not self._data:  # a session that evaluated nothing itself (an xdist controller)
            for path in sorted((self.store.root / "subsets").glob("*.json")):
                name, full = (path.stem[:-5], True) if path.stem.endswith("-full") \
                    else (path.stem, False)
                if name in TASKS:
                    self.data(name, full)
        for data in self._data.values():
            ids = data.dataset["sample_id"]
            if sample_id in ids:
                row = data.dataset[ids.index(sample_id)]
                return decode_image(row["image"], sample_id, data.image_root)
        return None

    # -- what to run ---------------------------------------------------------------------------

    def variants(self) -> list[str]:
        """Variants to run, the baseline first (its scores are what the others are gated on)."""
        names = self.config.variants or [n for n, v in VARIANTS.items() if v.by_default]
        for name in names:
            get_variant(split_variant_id(name)[0])  # did-you-mean on a misspelt variant
        return [self.baseline] + [v for v in dict.fromkeys(names) if v != self.baseline]

    def model_kind(self, model: str) -> str:
        if model not in self._kinds:
            self._kinds[model] = adapter_for(read_config(resolve_source(model))).kind
        return self._kinds[model]

    def is_synthetic(self, model: str) -> bool:
        """True for a folder written by `vlmq synth` (random weights: speed only)."""
        if model not in self._synthetic:
            from vlmq.synth import is_synthetic

            self._synthetic[model] = is_synthetic(read_config(resolve_source(model)))
        return self._synthetic[model]

    def tasks_for(self, model: str) -> list[str]:
        """The tasks this model can do among those asked for (all of its kind by default)."""
        asked = self.config.tasks or TASKS.names()
        for name in asked:
            TASKS.get(name)
        kind = self.model_kind(model)
        return [t for t in asked if TASKS.get(t).kind == kind]

    def all_cases(self) -> list[Case]:
        """Every model x attention x variant; with a separate baseline model, its baseline
        cases come first and the models run only their other variants."""
        attns, base_model = self.config.attn_implementation, self.config.baseline_model
        cases = [Case(base_model, self.baseline, a) for a in attns] if base_model else []
        cases += [Case(m, v, a) for m in self.config.models for a in attns
                  for v in self.variants() if not (base_model and v == self.baseline)]
        return list(dict.fromkeys(cases))

    def cases(self) -> list[Case]:
        """The cases this process runs: all of them, or its shard's part (--vlmq-shard)."""
        return shard_items(self.all_cases(), self.config.shard)

    def task(self, name: str) -> Task:
        if name not in self._tasks:
            cfg = self.config
            # make_task hands each task only the options it takes
            self._tasks[name] = make_task(
                name, ocr_tokens=cfg.ocr_tokens, spice=cfg.spice,
                python_tokenizer=cfg.python_tokenizer or None,
            )
        return self._tasks[name]

    def max_new_tokens(self, task: Task) -> int:
        """The run's cap when set, else the task's own (lmms-eval's), else 32."""
        return self.config.max_new_tokens or getattr(task, "max_new_tokens", None) or 32

    def full_dataset(self, task_name: str) -> TaskDataset:
        """The task's whole dataset (the run's override or the task's default), loaded once."""
        if task_name not in self._full:
            task = self.task(task_name)
            spec = self.config.datasets.get(task_name, task.default_dataset)
            try:
                self._full[task_name] = load_task_dataset(spec, task.layout_kind)
            except UnavailableError:
                raise
            except VlmqError as exc:
                if spec in str(exc):
                    raise
                raise VlmqError(f"dataset {spec!r} of task {task_name!r}: {exc}") from None
        return self._full[task_name]

    def data(self, task_name: str, full: bool = False, n: int | None = None) -> TaskDataset:
        """The task's evaluated subset: the same samples for every variant, indices stored.
        n: a later look's size (--vlmq-samples auto); its subset contains the earlier ones."""
        key = (task_name, full, n)
        if key not in self._data:
            task = self.task(task_name)
            full_ds = self.full_dataset(task_name)
            if hasattr(task, "set_label_names") and full_ds.label_names:
                task.set_label_names(full_ds.label_names)
            size = None if full else n or self.config.first_samples
            subset, indices = select_subset(full_ds, size, self.config.seed)
            name = look_key(task_name, n) if n else task_key(task_name, full)
            stored = self.store.read_subset(name)
            if stored is not None and stored != list(indices):
                raise VlmqError(f"run {self.store.run_id!r}: the {name} subset differs from the "
                                f"stored one (the dataset changed?); start a new run id")
            self.store.write_subset(name, list(indices))
            self._data[key] = subset
        return self._data[key]

    # -- running -------------------------------------------------------------------------------

    def load(self, case: Case) -> LoadedModel:
        from vlmq.measure.memory import PeakMemory

        try:
            # import the family's model code first: its modules' pages are the process's, not
            # the model's memory
            adapter_for(read_config(resolve_source(case.model))).auto_class()
            # measured, so that the model's memory can be told from the process's
            with PeakMemory(self.device) as memory:
                loaded = load_variant(case.model, case.variant, device=self.device,
                                      settings=self.settings, attn_implementation=case.attn,
                                      device_map=self.config.device_map,
                                      max_memory=self.config.max_memory)
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

    def _set_generation(self, loaded: LoadedModel, case: Case) -> None:
        """The generation mode's options, and the fixed token count where asked or synthetic."""
        if loaded.adapter.kind != "generate":
            return
        reason = mode_unavailable_reason(self.config.generation, loaded.model)
        if reason:
            raise UnavailableError(reason)
        options = generation_options(self.config.generation, self.device.split(":")[0])
        if self.config.fixed_new_tokens or self.is_synthetic(case.model):
            options["fixed_new_tokens"] = True
        loaded.generate_options = options

    def stored_result(self, case: Case, task_name: str, full: bool = False) -> TaskResult | None:
        return self._stored(case, task_key(task_name, full))

    def _stored(self, case: Case, tkey: str) -> TaskResult | None:
        if self.store.is_finished(case.model, case.variant_key, tkey):
            return self.store.read_result(case.model, case.variant_key, tkey)
        return None

    def run(self, loaded: LoadedModel, case: Case, task_name: str, *, full: bool = False,
            runner: BatchRunner = plain_runner, measure: bool = True, test: str = "",
            retime: bool = False) -> TaskResult:
        """Evaluate one task on one loaded variant; resumes from stored records. `test` names
        the caller (a pytest node id) in the result, for entries rebuilt from the run folder.

        A task finished earlier is returned as stored (notes say so and when it was measured);
        with `retime`, an interrupted one runs every batch again for the timer (a full set of
        rounds) while keeping the stored records of the samples done before. The task is held
        (`RunStore.task_lock`) while it runs, so that in a distributed run a task is evaluated
        by one process only; the others find it finished."""
        tkey = task_key(task_name, full)
        with self.store.task_lock(case.model, case.variant_key, tkey):
            stored = self.stored_result(case, task_name, full)
            if stored is not None:
                stored.notes["resumed"] = "finished earlier in this run; not recomputed"
                stored.notes["measured_at"] = self.store.finished_at(
                    case.model, case.variant_key, tkey)
                return stored
            return self._evaluate(loaded, case, task_name, full, runner, measure, test, retime)

    def _evaluate(self, loaded: LoadedModel, case: Case, task_name: str, full: bool,
                  runner: BatchRunner, measure: bool, test: str, retime: bool) -> TaskResult:
        from vlmq.measure.energy import EnergyTracker
        from vlmq.measure.memory import PeakMemory

        task = self.task(task_name)
        data = self.data(task_name, full)
        synthetic = self.is_synthetic(case.model)
        if task.kind == "classify" and not synthetic:
            check_label_space(loaded, data)
        first_call = len(loaded.call_times_s)
        tkey = task_key(task_name, full)
        done = self.store.completed(case.model, case.variant_key, tkey)
        energy_on = measure and self.config.energy
        # energy outside memory: codecarbon's first import must not count as the task's peak
        with EnergyTracker(self.device, self.config.country_iso_code, self.store.root,
                           enabled=energy_on) as energy, PeakMemory(self.device) as memory:
            outcome = self._pass(loaded, case, task, tkey, data, done, runner=runner,
                                 warmup_rounds=self.config.warmup_rounds, retime=retime)
        result = self._scored(loaded, case, task, tkey, data, outcome)
        if test:
            result.info["test"] = test
        if outcome.kept:
            result.notes["retimed"] = (
                f"interrupted earlier: the records of {outcome.kept} samples were kept; all "
                f"{outcome.timed_batches} batches were re-timed now for the benchmark stats")
        add_speed(result, outcome.records)
        self._add_timing_intervals(result)
        add_memory(result, memory.result, loaded)
        add_energy(result, energy.result, max(1, len(outcome.records) - len(outcome.failed)))
        add_first_call(result, loaded.call_times_s[first_call:first_call + 1],
                       self.config.generation == "compiled" and task.kind == "generate")
        if measure and task.kind == "generate":
            add_hardware_limits(result, outcome.records, hardware_limits(self.device).to_dict(),
                                *decode_and_prefill_work(loaded, first_call))
        if synthetic:
            mark_synthetic(result)
        elif case.variant != self.baseline:
            self._add_retention(result, case, task_name, tkey)
        self._finish(case, tkey, result)
        return result

    def _pass(self, loaded: LoadedModel, case: Case, task: Task, tkey: str, data: TaskDataset,
              done: dict[str, SampleRecord], *, runner: BatchRunner = plain_runner,
              warmup_rounds: int = 0, retime: bool = False) -> EvalOutcome:
        """One evaluation pass over `data` (the samples not in `done`), each batch's records
        appended to the run folder under `tkey` as it finishes."""

        def save(recs: list[SampleRecord]) -> None:
            self.store.append(case.model, case.variant_key, tkey, recs)

        return evaluate(
            loaded, task, data, batch_size=self.config.batch_size,
            max_new_tokens=self.max_new_tokens(task), done=done, on_records=save,
            runner=runner, warmup_rounds=warmup_rounds, prefetch=default_prefetch(self.device),
            retime=retime, show_progress=self.config.progress, desc=f"{case.id} {tkey}",
        )

    def _scored(self, loaded: LoadedModel, case: Case, task: Task, tkey: str,
                data: TaskDataset, outcome: EvalOutcome) -> TaskResult:
        """The pass's records scored, rewritten with their per-sample scores next to each
        prediction, and the result's quality and settings."""
        score = self._score(task, data, outcome)
        self.store.rewrite_records(case.model, case.variant_key, tkey, outcome.records)
        return self._result(loaded, case, task, tkey, data, outcome, score)

    def _finish(self, case: Case, tkey: str, result: TaskResult) -> None:
        self.store.write_result(result)
        self.store.mark_finished(case.model, case.variant_key, tkey)

    def _score(self, task: Task, data: TaskDataset, outcome: EvalOutcome) -> CorpusScore:
        ok = [r for r in outcome.records if not r.error]
        if not ok:
            raise VlmqError(f"task {task.name}: every sample failed (first error: "
                            f"{outcome.records[0].error if outcome.records else 'no samples'})")
        rows = [data.dataset[r.index] for r in ok]
        score = task.score([r.prediction for r in ok], rows)
        for metric, values in score.per_sample.items():
            for rec, value in zip(ok, values, strict=True):
                rec.scores[metric] = float(value)
        return score

    def _result(self, loaded: LoadedModel, case: Case, task: Task, tkey: str,
                data: TaskDataset, outcome: EvalOutcome, score: CorpusScore) -> TaskResult:
        cfg = self.config
        info: dict[str, Any] = {
            "model": case.model, "variant": case.variant_key, "task": tkey,
            "base_variant": case.variant, "attn_implementation": case.attn,
            "dataset": data.source, "split": data.split, "device": self.device,
            "baseline": self.baseline, "run_id": self.store.run_id,
            "baseline_model": self.baseline_case(case).model,
            "bits": loaded.bits, "samples": len(outcome.records),
            "failed_samples": len(outcome.failed), "batch_size": cfg.batch_size,
            "max_new_tokens": self.max_new_tokens(task) if task.kind == "generate" else None,
            "seed": cfg.seed, "family": loaded.adapter.family,
            "threads": self.cpu_settings["threads"],
            "generation": cfg.generation if task.kind == "generate" else None,
            "fixed_new_tokens": bool(loaded.generate_options.get("fixed_new_tokens")),
        }
        if self.worker:
            info["worker"] = self.worker
        result = TaskResult(info=info, quantized_linears=loaded.quantized_linears)
        for m in task.metrics:
            if m.name in score.corpus:
                result.add(m.name, float(score.corpus[m.name]), m.unit, m.higher_is_better,
                           "quality")
        result.per_sample = {k: [float(x) for x in v] for k, v in score.per_sample.items()}
        ok = [r.index for r in outcome.records if not r.error]
        result.sample_stats = {"index": ok, **score.stats}
        result.notes.update({k: str(v) for k, v in score.notes.items()})
        result.notes.update(loaded.notes)
        if loaded.kept_modules:
            result.notes["kept_in_full_precision"] = ", ".join(loaded.kept_modules)
        if outcome.failed:
            result.notes["failed_samples"] = ", ".join(outcome.failed[:20])
        if self.config.auto_samples and not tkey.endswith("-full"):
            sizes = self.looks(task.name)
            info["look"] = {"n": len(outcome.records), "of": len(sizes), "sizes": sizes,
                            "confidence": self.gate_confidence(task.name)}
        return result

    # -- baseline and gates --------------------------------------------------------------------

    def baseline_case(self, case: Case) -> Case:
        return Case(self.config.baseline_model or case.model, self.baseline, case.attn)

    def ensure_baseline(self, case: Case, tasks: list[tuple[str, bool]]) -> None:
        """Compute the baseline's scores for `tasks` unless this run already has them.

        Called before a non-baseline variant is loaded, so that only one model is in memory.
        Measured in full (energy too): in a sharded or distributed run this may be the only
        result of the baseline.
        """
        if self.is_synthetic(case.model):
            return  # random weights: nothing to retain, so no baseline scores are needed
        base = self.baseline_case(case)
        missing = [(t, f) for t, f in tasks if self.stored_result(base, t, f) is None]
        if not missing:
            return
        loaded = self.load(base)
        try:
            for t, f in missing:
                self.run(loaded, base, t, full=f)
        finally:
            unload(loaded)

    def _add_retention(self, result: TaskResult, case: Case, task_name: str, tkey: str) -> None:
        base = self._stored(self.baseline_case(case), tkey)
        if base is None:
            result.notes["retention"] = "no baseline result in this run"
            return
        task = self.task(task_name)
        for m in task.metrics:
            if m.name not in result.metrics or m.name not in base.metrics:
                continue
            v, b = result.metrics[m.name].value, base.metrics[m.name].value
            if v is None or b is None:
                continue
            ratio = retention(v, b, m.higher_is_better)
            result.retention[m.name] = ratio
            if m.gated:
                result.thresholds[m.name] = self.config.threshold_for(
                    case.variant, int(result.info["bits"]), m.name)
            result.info.setdefault("baseline_scores", {})[m.name] = b
        cfg = self.config
        ratio = latency_ratio(result.rounds_s, base.rounds_s, cfg.confidence,
                              cfg.bootstrap_resamples, cfg.seed)
        if ratio is not None and "timing" in result.info:
            result.info["timing"]["latency_ratio"] = ratio
        confidence = cfg.confidence if tkey.endswith("-full") else self.gate_confidence(task_name)
        result.gates = result_gates(
            result, base, task.metrics, result.thresholds,
            BootstrapSettings(confidence, cfg.bootstrap_resamples, cfg.seed))

    def _add_timing_intervals(self, result: TaskResult) -> None:
        """Intervals of the median batch latency and throughput (info["timing"])."""
        rounds = result.rounds_s
        if not rounds:
            return
        cfg = self.config
        per_round = int(result.info["samples"]) / len(rounds)
        timing = timing_intervals(rounds, per_round, cfg.confidence, cfg.bootstrap_resamples,
                                  cfg.seed)
        if timing:
            result.info["timing"] = timing

    # -- deciding by growing the subset (--vlmq-samples auto, vlmq.stats.sequential) ----------

    def looks(self, task_name: str) -> list[int]:
        """The subset size of each look of --vlmq-samples auto for this task."""
        cfg = self.config
        return look_sizes(cfg.auto_start, cfg.auto_looks,
                          len(self.full_dataset(task_name).dataset))

    def gate_confidence(self, task_name: str) -> float:
        """The confidence of the fast run's gate intervals: the run's, or with samples auto,
        its error rate split across the task's looks."""
        if not self.config.auto_samples:
            return self.config.confidence
        return look_confidence(self.config.confidence, len(self.looks(task_name)))

    def decide(self, held: Held, task_name: str, result: TaskResult,
               test: str = "") -> TaskResult:
        """--vlmq-samples auto: while a gate of the fast run's `result` is inconclusive and a
        look is left, evaluate the next look (the baseline first, then the variant, only the
        samples the last look did not have) and gate again. Returns the last look's result.

        Each look is a task key of its own (`caption@256`) for the baseline and the variant,
        so that every retention pairs results on the same samples, and an interrupted run
        resumes at the look it was in."""
        case = held.case
        if (not self.config.auto_samples or case.variant == self.baseline
                or self.is_synthetic(case.model)):
            return result
        for n in self.looks(task_name)[1:]:
            if not any(g["verdict"] == "inconclusive" for g in result.gates.values()):
                break
            key = look_key(task_name, n)
            with self.store.task_lock(case.model, case.variant_key, key):
                grown = self._stored(case, key)
                if grown is None:
                    self._baseline_look(held, task_name, n)
                    grown = self._grow(held.loaded, case, task_name, n, result, test)
            if result.info.get("next_look") != key:  # superseded by this look, not undecided
                result.info["next_look"] = key
                self.store.write_result(result)
            result = grown
        return result

    def _baseline_look(self, held: Held, task_name: str, n: int) -> None:
        """The baseline's scores at look `n`, unless stored: the held variant is unloaded for
        it and loaded again afterwards, so only one model is ever in memory."""
        base = self.baseline_case(held.case)
        key = look_key(task_name, n)
        with self.store.task_lock(base.model, base.variant_key, key):
            if self._stored(base, key) is not None:
                return
            sizes = self.looks(task_name)
            before = sizes[sizes.index(n) - 1]
            prev = self._stored(base, task_name if before == sizes[0]
                                else look_key(task_name, before))
            if prev is None:
                raise VlmqError(f"run {self.store.run_id!r}: the baseline has no result at "
                                f"{before} samples of {task_name}, so look {n} cannot extend it")
            unload(held.loaded)
            try:
                loaded = self.load(base)
                try:
                    self._grow(loaded, base, task_name, n, prev, "")
                finally:
                    unload(loaded)
            finally:
                held.loaded = self.load(held.case)

    def _grow(self, loaded: LoadedModel, case: Case, task_name: str, n: int,
              prev: TaskResult, test: str) -> TaskResult:
        """`prev`'s look extended to `n` samples: its records reused, the new samples evaluated
        (untimed by pytest-benchmark), quality and gates on all n. Speed, memory and energy
        stay those measured at the first look: a look only adds quality samples."""
        task = self.task(task_name)
        key = look_key(task_name, n)
        data = self.data(task_name, n=n)
        position = {str(sid): i for i, sid in enumerate(data.dataset["sample_id"])}
        earlier = self.store.completed(case.model, case.variant_key, str(prev.info["task"]))
        done = {sid: dataclasses.replace(rec, index=position[sid]) for sid, rec in earlier.items()}
        done.update(self.store.completed(case.model, case.variant_key, key))
        outcome = self._pass(loaded, case, task, key, data, done)
        result = self._scored(loaded, case, task, key, data, outcome)
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
        if case.variant != self.baseline:
            self._add_retention(result, case, task_name, key)
        self._finish(case, key, result)
        return result

    def gate(self, result: TaskResult) -> list[str]:
        """One failure message per gated metric that fails under the run's gate policy."""
        return gate_failures(result, self.config.gate)

    def inconclusive(self, result: TaskResult) -> list[str]:
        """`<variant> <task> <metric>: inconclusive at n=... (low..high vs thr); ~N decide`."""
        info = result.info
        return [f"{info['variant']} {info['task']} {describe(name, g)}"
                for name, g in result.gates.items() if g["verdict"] == "inconclusive"]


def check_label_space(loaded: LoadedModel, data: TaskDataset) -> None:
    """Classification is scored by class index: the model's classes must be the dataset's."""
    model_names = loaded.adapter.label_names(loaded.model)
    if model_names and data.label_names and len(model_names) != len(data.label_names):
        raise VlmqError(
            f"{loaded.name} predicts {len(model_names)} classes but {data.source} has "
            f"{len(data.label_names)}; classes are matched by index, so use a checkpoint "
            f"fine-tuned on this dataset"
        )
