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
from vlmq.metrics.base import CorpusScore, retention
from vlmq.results.measures import add_energy, add_memory, add_speed
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.results.store import RunStore
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


def task_key(task: str, full: bool) -> str:
    return f"{task}-full" if full else task


class BenchmarkSession:
    def __init__(self, config: RunConfig) -> None:
        import vlmq.variants  # noqa: F401  (register the variants)

        self.config = config
        self.device = resolve_device(config.device)
        self.baseline = (default_baseline(self.device) if config.baseline == "auto"
                         else config.baseline)
        VARIANTS.get(split_variant_id(self.baseline)[0])  # fail early on a misspelt baseline
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
            resolved = dataclasses.replace(self.config, device=self.device,
                                           baseline=self.baseline, run_id=store.run_id)
            store.write_config(resolved.to_dict())
            self._store = store
        return self._store

    @property
    def store_created(self) -> bool:
        return self._store is not None

    def finish(self) -> Path:
        """Summary, plots, spot-check and the Markdown report of the run."""
        from vlmq.report import build_report

        return build_report(self.store.root, image_lookup=self.image_lookup)

    def image_lookup(self, sample_id: str) -> Any:
        """The decoded image of a sample evaluated in this session (for the spot-check page)."""
        from vlmq.data.images import decode_image

        for data in self._data.values():
            ids = data.dataset["sample_id"]
            if sample_id in ids:
                row = data.dataset[ids.index(sample_id)]
                return decode_image(row["image"], sample_id, data.image_root)
        return None

    # -- what to run ---------------------------------------------------------------------------

    def variants(self) -> list[str]:
        """Variants to run, the baseline first (its scores are what the others are gated on)."""
        names = self.config.variants or VARIANTS.names()
        for name in names:
            get_variant(split_variant_id(name)[0])  # did-you-mean on a misspelt variant
        return [self.baseline] + [v for v in dict.fromkeys(names) if v != self.baseline]

    def model_kind(self, model: str) -> str:
        if model not in self._kinds:
            self._kinds[model] = adapter_for(read_config(resolve_source(model))).kind
        return self._kinds[model]

    def tasks_for(self, model: str) -> list[str]:
        """The tasks this model can do among those asked for (all of its kind by default)."""
        asked = self.config.tasks or TASKS.names()
        for name in asked:
            TASKS.get(name)
        kind = self.model_kind(model)
        return [t for t in asked if TASKS.get(t).kind == kind]

    def cases(self) -> list[Case]:
        return [Case(m, v, a) for m in self.config.models for a in self.config.attn_implementation
                for v in self.variants()]

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

    def data(self, task_name: str, full: bool = False) -> TaskDataset:
        """The task's evaluated subset: the same samples for every variant, indices stored."""
        key = (task_name, full)
        if key not in self._data:
            task = self.task(task_name)
            spec = self.config.datasets.get(task_name, task.default_dataset)
            full_ds = load_task_dataset(spec, task.layout_kind)
            if hasattr(task, "set_label_names") and full_ds.label_names:
                task.set_label_names(full_ds.label_names)
            subset, indices = select_subset(full_ds, None if full else self.config.samples,
                                            self.config.seed)
            name = task_key(task_name, full)
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
                                      settings=self.settings, attn_implementation=case.attn)
        except UnavailableError as exc:
            self.store.write_skip(case.model, case.variant_key, None, str(exc))
            raise
        loaded.load_memory = memory.result
        self.store.write_structure(case.model, case.variant_key, loaded.structure())
        return loaded

    def stored_result(self, case: Case, task_name: str, full: bool = False) -> TaskResult | None:
        tkey = task_key(task_name, full)
        if self.store.is_finished(case.model, case.variant_key, tkey):
            return self.store.read_result(case.model, case.variant_key, tkey)
        return None

    def run(self, loaded: LoadedModel, case: Case, task_name: str, *, full: bool = False,
            runner: BatchRunner = plain_runner, measure: bool = True) -> TaskResult:
        """Evaluate one task on one loaded variant; resumes from stored records."""
        from vlmq.measure.energy import EnergyTracker
        from vlmq.measure.memory import PeakMemory

        stored = self.stored_result(case, task_name, full)
        if stored is not None:
            stored.notes["resumed"] = "finished earlier in this run; not recomputed"
            return stored
        task = self.task(task_name)
        data = self.data(task_name, full)
        if task.kind == "classify":
            check_label_space(loaded, data)
        tkey = task_key(task_name, full)
        done = self.store.completed(case.model, case.variant_key, tkey)

        def save(recs: list[SampleRecord]) -> None:
            self.store.append(case.model, case.variant_key, tkey, recs)

        energy_on = measure and self.config.energy
        # energy outside memory: codecarbon's first import must not count as the task's peak
        with EnergyTracker(self.device, self.config.country_iso_code, self.store.root,
                           enabled=energy_on) as energy, PeakMemory(self.device) as memory:
            outcome = evaluate(
                loaded, task, data, batch_size=self.config.batch_size,
                max_new_tokens=self.max_new_tokens(task), done=done, on_records=save,
                runner=runner, warmup_rounds=self.config.warmup_rounds,
                prefetch=default_prefetch(self.device),
                show_progress=self.config.progress, desc=f"{case.id} {tkey}",
            )
        score = self._score(task, data, outcome)
        # the rewritten records carry the per-sample scores next to each prediction
        self.store.rewrite_records(case.model, case.variant_key, tkey, outcome.records)
        result = self._result(loaded, case, task, tkey, data, outcome, score)
        add_speed(result, outcome.records)
        add_memory(result, memory.result, loaded)
        add_energy(result, energy.result, max(1, len(outcome.records) - len(outcome.failed)))
        if case.variant != self.baseline:
            self._add_retention(result, case, task_name, full)
        self.store.write_result(result)
        self.store.mark_finished(case.model, case.variant_key, tkey)
        return result

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
            "bits": loaded.variant.bits, "samples": len(outcome.records),
            "failed_samples": len(outcome.failed), "batch_size": cfg.batch_size,
            "max_new_tokens": self.max_new_tokens(task) if task.kind == "generate" else None,
            "seed": cfg.seed, "family": loaded.adapter.family,
            "threads": self.cpu_settings["threads"],
        }
        result = TaskResult(info=info, quantized_linears=loaded.quantized_linears)
        for m in task.metrics:
            if m.name in score.corpus:
                result.add(m.name, float(score.corpus[m.name]), m.unit, m.higher_is_better,
                           "quality")
        result.per_sample = {k: [float(x) for x in v] for k, v in score.per_sample.items()}
        result.notes.update({k: str(v) for k, v in score.notes.items()})
        result.notes.update(loaded.notes)
        if loaded.kept_modules:
            result.notes["kept_in_full_precision"] = ", ".join(loaded.kept_modules)
        if outcome.failed:
            result.notes["failed_samples"] = ", ".join(outcome.failed[:20])
        return result

    # -- baseline and gates --------------------------------------------------------------------

    def baseline_case(self, case: Case) -> Case:
        return Case(case.model, self.baseline, case.attn)

    def ensure_baseline(self, case: Case, tasks: list[tuple[str, bool]]) -> None:
        """Compute the baseline's scores for `tasks` unless this run already has them.

        Called before a non-baseline variant is loaded, so that only one model is in memory.
        """
        base = self.baseline_case(case)
        missing = [(t, f) for t, f in tasks if self.stored_result(base, t, f) is None]
        if not missing:
            return
        loaded = self.load(base)
        try:
            for t, f in missing:
                self.run(loaded, base, t, full=f, measure=False)
        finally:
            unload(loaded)

    def _add_retention(self, result: TaskResult, case: Case, task_name: str, full: bool) -> None:
        base = self.stored_result(self.baseline_case(case), task_name, full)
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

    def gate(self, result: TaskResult) -> list[str]:
        """One failure message per gated metric whose retention is under its threshold."""
        info = result.info
        out = []
        for metric, threshold in result.thresholds.items():
            ratio = result.retention.get(metric)
            if ratio is not None and ratio < threshold:
                out.append(
                    f"{info['model']} {info['variant']} on {info['task']}: {metric} "
                    f"{result.metrics[metric].value:.4f} vs baseline {info['baseline']} "
                    f"{info['baseline_scores'][metric]:.4f} = retention {ratio:.3f} "
                    f"< threshold {threshold:.3f}"
                )
        return out



def check_label_space(loaded: LoadedModel, data: TaskDataset) -> None:
    """Classification is scored by class index: the model's classes must be the dataset's."""
    model_names = loaded.adapter.label_names(loaded.model)
    if model_names and data.label_names and len(model_names) != len(data.label_names):
        raise VlmqError(
            f"{loaded.name} predicts {len(model_names)} classes but {data.source} has "
            f"{len(data.label_names)}; classes are matched by index, so use a checkpoint "
            f"fine-tuned on this dataset"
        )
