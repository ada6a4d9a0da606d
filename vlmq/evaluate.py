"""The evaluation loop: one loaded model x one task over a fixed subset, resumable.

Inputs stream from `vlmq.inputs.InputPipeline` (decoded and preprocessed a few batches ahead,
bounded). Each round has two halves, kept apart so that only the model is timed:

- `feed()` (untimed; pytest-benchmark's `setup`): write the previous batch's records, take
  the next prepared batch (noting how long the model waited for it) and move it to the device;
- `call(batch)` (timed): the loaded model's `timed_call` (the adapter's, with the generation
  mode's options), forward or generate only, synchronized; an energy tracker, when given,
  measures the same call as a "first_call" (warm-up) or "timed" window.

Decoding outputs, records, fsync, scoring and progress bars all happen in `feed()` or after the
last round. The caller decides how rounds are timed (a pytest-benchmark `pedantic` runner, or
the plain loop here) and where records go.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from vlmq.context import context_budget, over_context
from vlmq.data.loading import TaskDataset
from vlmq.errors import UnavailableError
from vlmq.inputs import InputPipeline, Prepared, prepare_slot, references, slots
from vlmq.loading import LoadedModel
from vlmq.models.base import ModelCall
from vlmq.results.progress import progress
from vlmq.results.schema import SampleRecord
from vlmq.tasks.base import Task

if TYPE_CHECKING:
    from vlmq.measure.energy import EnergyTracker


@dataclass
class Round:
    """One call of the model: a prepared batch, its inputs on the device, and what it left."""

    batch: Prepared
    inputs: Any
    warmup: bool
    call: ModelCall | None = None


@dataclass
class EvalOutcome:
    records: list[SampleRecord]  # every sample of the subset, in order, resumed ones included
    timed_batches: int = 0  # batches run by this call (0 when everything was resumed)
    kept: int = 0  # samples whose stored records were kept although their batch was re-timed
    failed: list[str] = field(default_factory=list)  # ids of samples that could not be used
    over_context: list[str] = field(default_factory=list)  # failed for a prompt over the context


# runner(call, feed, rounds, warmup_rounds) must call `call(feed())` warmup_rounds + rounds
# times, in order, timing only `call`; it exists so the pytest layer can time through pedantic.
BatchRunner = Callable[[Callable[[Any], None], Callable[[], Any], int, int], None]


def plain_runner(call: Callable[[Any], None], feed: Callable[[], Any], rounds: int,
                 warmup_rounds: int) -> None:
    for _ in range(warmup_rounds + rounds):
        call(feed())


def evaluate(
    loaded: LoadedModel,
    task: Task,
    data: TaskDataset,
    *,
    batch_size: int,
    max_new_tokens: int,
    done: dict[str, SampleRecord] | None = None,
    on_records: Callable[[list[SampleRecord]], None] | None = None,
    runner: BatchRunner = plain_runner,
    warmup_rounds: int = 1,
    prefetch: int = 0,
    show_progress: bool = True,
    desc: str = "",
    retime: bool = False,
    long_prompts: str = "fail",
    energy: EnergyTracker | None = None,
) -> EvalOutcome:
    """Run `task` over every sample of `data` not in `done`; return all records in order.

    retime: when samples are done already (an interrupted task), run every batch anyway, so that
    the timer sees a full set of rounds; a batch whose samples are all done keeps their stored
    records (predictions and latencies as first measured) and emits nothing.
    long_prompts: what happens to a sample whose prompt is over the model's context
    (vlmq.context): "fail" it, with the reason, or "truncate" its question.
    """
    done = dict(done or {})
    # the id column alone: reading whole rows here would touch every image's bytes
    ids = [str(sid) for sid in data.dataset["sample_id"]]
    todo = [i for i, sid in enumerate(ids) if sid not in done]
    # an unfinished task with every record stored (killed while scoring) is re-timed too
    stored = set(done) if retime else set()
    # batches over the same samples as the first run's, so their boundaries are the same
    plan = slots(range(len(ids)) if stored else todo, batch_size)
    bar = progress(desc=desc or task.name, total=len(todo), enabled=show_progress, unit="sample")
    make = partial(prepare_slot, task, data, loaded.adapter, loaded.processor,
                   budget=context_budget(loaded.adapter, loaded.model, max_new_tokens,
                                         long_prompts))
    loop = _Loop(loaded, task, max_new_tokens, done, on_records or (lambda recs: None), bar,
                 warmup_rounds if plan else 0, stored)
    if energy is not None:
        loop.window = energy.window
    try:
        with InputPipeline(make, plan, prefetch) as loop.pipeline:
            runner(loop.call, loop.feed, len(plan), loop.warm_left)
            loop.flush()
    finally:
        bar.close()
    records = sorted(done.values(), key=lambda r: r.index)
    return EvalOutcome(records=records, timed_batches=len(plan),
                       failed=[r.sample_id for r in records if r.error], kept=len(stored),
                       over_context=over_context(records))


class _Loop:
    """The state between rounds: the batch kept for warm-up, the round whose records are due."""

    def __init__(self, loaded: LoadedModel, task: Task, max_new_tokens: int,
                 done: dict[str, SampleRecord], emit: Callable[[list[SampleRecord]], None],
                 bar: Any, warmup_rounds: int, stored: set[str]) -> None:
        self.loaded, self.task, self.max_new_tokens = loaded, task, max_new_tokens
        self.done, self.emit, self.bar = done, emit, bar
        self.stored = stored  # samples whose stored records stand (a re-timed task)
        self.warm_left = warmup_rounds
        self.pipeline: InputPipeline | None = None
        self._first: Round | None = None  # the first batch, kept while warm-up rounds use it
        self._due: Round | None = None
        # what measures each call's energy: a region name -> a context manager
        self.window: Callable[[str], AbstractContextManager[Any]] = lambda region: nullcontext()

    def feed(self) -> Round | None:
        """Untimed: records of the last round out, the next batch in (on the device)."""
        self.flush()
        if self.warm_left > 0:
            self.warm_left -= 1
            first = self._peek()
            return None if first is None else Round(first.batch, first.inputs, warmup=True)
        if self._first is not None:
            first, self._first = self._first, None
            return first
        return self._take()

    def call(self, round_: Round | None) -> None:
        """Timed: the model's own work on a prepared batch (a no-op for an all-failed slot)."""
        if round_ is None:
            return
        if round_.inputs is not None:
            try:
                with self.window("first_call" if round_.warmup else "timed"):
                    round_.call = self.loaded.timed_call(round_.inputs, self.max_new_tokens)
            except Exception as exc:  # out of memory: say so, keep what is stored
                if type(exc).__name__ == "OutOfMemoryError":
                    raise UnavailableError(
                        f"{self.loaded.name} as {self.loaded.variant_id} ran out of memory on a "
                        f"batch of {len(round_.batch.indices)} (finished samples are kept; "
                        f"lower the batch size)") from None
                raise
        if not round_.warmup:
            self._due = round_

    def flush(self) -> None:
        """Records of the last timed round (failed samples of its slot first)."""
        round_, self._due = self._due, None
        if round_ is None:
            return
        ids = [str(row["sample_id"]) for row in round_.batch.rows] + \
            [rec.sample_id for rec in round_.batch.failed]
        if self.stored and all(sid in self.stored for sid in ids):
            return  # re-timed only: the stored records stand
        recs = list(round_.batch.failed)
        if round_.call is not None:
            out = self.loaded.adapter.finish(self.loaded.model, self.loaded.processor,
                                             round_.inputs, round_.call)
            recs += _records(self.task, round_.batch, out, round_.call.cpu_s,
                             round_.call.wait_s)
        self.emit(recs)
        for rec in recs:
            self.done[rec.sample_id] = rec
        self.bar.update(len(recs))

    def _take(self) -> Round | None:
        assert self.pipeline is not None
        batch = self.pipeline.next()
        if batch is None:
            return None
        inputs = None
        if batch.inputs is not None:
            inputs = self.loaded.adapter.to_device(self.loaded.model, batch.inputs)
        return Round(batch, inputs, warmup=False)

    def _peek(self) -> Round | None:
        if self._first is None:
            self._first = self._take()
        return self._first


def _records(task: Task, batch: Prepared, out: Any, cpu_s: float | None,
             wait_s: float | None = None) -> list[SampleRecord]:
    """One record per sample; batch-wide timings are split evenly into per-sample shares, and
    the per-step decode times are kept once, on the batch's first record."""
    n = len(batch.indices)
    recs = []
    for k, (i, row) in enumerate(zip(batch.indices, batch.rows, strict=True)):
        if task.kind == "classify":
            pred: Any = list(out.top5[k])
            new_tokens, prefill, steps = None, None, None
        else:
            pred = task.postprocess(out.texts[k])
            new_tokens, prefill = out.new_tokens[k], out.prefill_s
            steps = out.token_times_s if k == 0 else None
        recs.append(SampleRecord(
            sample_id=str(row["sample_id"]), index=i, batch=batch.first_index,
            prompt=batch.prompts[k] or None, prediction=pred, references=references(task, row),
            latency_s=out.total_s / n, new_tokens=new_tokens, prefill_s=prefill,
            prepare_s=batch.prepare_s / n, input_wait_s=batch.wait_s / n, token_times_s=steps,
            cpu_s=None if cpu_s is None else cpu_s / n,
            core_wait_s=None if wait_s is None else wait_s / n,
            truncated_tokens=batch.truncated.get(i),
        ))
    return recs
