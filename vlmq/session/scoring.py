"""Scoring a pass and building its unjudged result: per-sample and corpus scores, and what the
result was measured on and with (`TaskResult.info`)."""

from __future__ import annotations

from vlmq.config import RunConfig
from vlmq.data.loading import TaskDataset
from vlmq.errors import VlmqError
from vlmq.evaluate import EvalOutcome
from vlmq.loading import LoadedModel
from vlmq.metrics.base import CorpusScore
from vlmq.results.info import Look, ResultInfo
from vlmq.results.measures import batch_tpots, timed_rounds
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.results.taskkey import TaskKey
from vlmq.session.case import Case
from vlmq.session.folder import RunFolder
from vlmq.session.machine import Machine
from vlmq.session.plan import Planner
from vlmq.session.taskdata import TaskData
from vlmq.stats.timing import timing_intervals
from vlmq.tasks.base import Task


class Scorer:
    def __init__(self, config: RunConfig, machine: Machine, plan: Planner, data: TaskData,
                 folder: RunFolder) -> None:
        self.config = config
        self.machine = machine
        self.plan = plan
        self.data = data
        self.folder = folder

    def score(self, task: Task, data: TaskDataset, outcome: EvalOutcome) -> CorpusScore:
        """The task's scores of the pass's records, each record given its own."""
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

    def result(self, loaded: LoadedModel, case: Case, task: Task, key: TaskKey,
               data: TaskDataset, outcome: EvalOutcome, score: CorpusScore) -> TaskResult:
        """The unjudged result: quality, per-sample data, notes and settings."""
        result = TaskResult(info=self._info(loaded, case, task, key, data, outcome).to_dict(),
                            quantized_linears=loaded.quantized_linears)
        for m in task.metrics:
            if m.name in score.corpus:
                result.add(m.name, float(score.corpus[m.name]), m.unit, m.higher_is_better,
                           "quality")
        result.per_sample = {k: [float(x) for x in v] for k, v in score.per_sample.items()}
        ok = [r.index for r in outcome.records if not r.error]
        result.sample_stats = {"index": ok, **score.stats}
        groups = data.groups()
        if groups:  # what the samples share (an image): the gates resample whole groups
            result.sample_stats["group"] = [groups[i] for i in ok]
        result.notes.update({k: str(v) for k, v in score.notes.items()})
        result.notes.update(loaded.notes)
        if loaded.kept_modules:
            result.notes["kept_in_full_precision"] = ", ".join(loaded.kept_modules)
        if outcome.failed:
            result.notes["failed_samples"] = ", ".join(outcome.failed[:20])
        if outcome.over_context:
            result.notes["over_context"] = (
                f"{len(outcome.over_context)} sample(s) failed: prompt over the model's context "
                f"({', '.join(outcome.over_context[:5])})")
        return result

    def _info(self, loaded: LoadedModel, case: Case, task: Task, key: TaskKey,
              data: TaskDataset, outcome: EvalOutcome) -> ResultInfo:
        """What the result was measured on and with."""
        cfg, generates = self.config, task.kind == "generate"
        look = None
        if cfg.auto_samples and not key.full:
            sizes = self.data.looks(task.name)
            look = Look(n=len(outcome.records), of=len(sizes), sizes=sizes,
                        confidence=self.data.look_confidence(task.name))
        return ResultInfo(
            model=case.model, variant=case.variant_key, task=str(key),
            base_variant=case.variant, attn_implementation=case.attn,
            dataset=data.source, split=data.split, device=self.machine.device,
            baseline=self.plan.baseline, run_id=self.folder.store.run_id,
            baseline_model=self.plan.baseline_case(case).model,
            bits=loaded.bits, samples=len(outcome.records),
            failed_samples=len(outcome.failed), over_context=len(outcome.over_context),
            batch_size=cfg.batch_size,
            max_new_tokens=self.data.max_new_tokens(task) if generates else None,
            seed=cfg.seed, family=loaded.adapter.family, threads=self.machine.threads,
            generation=cfg.generation if generates else None,
            fixed_new_tokens=bool(loaded.generate_options.get("fixed_new_tokens")),
            worker=self.machine.worker, look=look,
        )


def add_timing_intervals(result: TaskResult, cfg: RunConfig,
                         records: list[SampleRecord]) -> None:
    """Intervals of the median batch latency, throughput and TPOT (info["timing"])."""
    rounds = timed_rounds(result)
    if not rounds:
        return
    per_round = int(result.info["samples"]) / len(rounds)
    timing = timing_intervals(rounds, per_round, cfg.confidence, cfg.bootstrap_resamples,
                              cfg.seed, batch_tpots(result, records))
    if timing:
        result.info["timing"] = timing
