"""The evaluation loop: one loaded model x one task over a fixed subset, resumable.

Images are decoded and prompts built outside the timed region; each timed call is one batch
through the adapter (CUDA-synchronized by it). The caller decides how batches are timed (a
pytest-benchmark `pedantic` runner, or the plain loop here) and where records go.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vlmq.data.images import decode_image
from vlmq.data.loading import TaskDataset
from vlmq.errors import SampleError, UnavailableError
from vlmq.loading import LoadedModel
from vlmq.results.progress import progress
from vlmq.results.schema import SampleRecord
from vlmq.tasks.base import Task


@dataclass
class Batch:
    """Inputs of one timed call: decoded images, prompts, and where they came from."""

    first_index: int  # subset position of its first sample: the batch's id in records
    indices: list[int]
    rows: list[dict[str, Any]]
    images: list[Any]
    prompts: list[str]


@dataclass
class EvalOutcome:
    records: list[SampleRecord]  # every sample of the subset, in order, resumed ones included
    timed_batches: int = 0  # batches run by this call (0 when everything was resumed)
    kept: int = 0  # samples whose stored records were kept although their batch was re-timed
    failed: list[str] = field(default_factory=list)  # ids of samples that could not be used


# runner(fn, batches, warmup_rounds) must call fn(batch) once per batch, in order, after
# `warmup_rounds` untimed calls; it exists so the pytest layer can time through pedantic.
BatchRunner = Callable[[Callable[[Batch], Any], list[Batch], int], None]


def plain_runner(fn: Callable[[Batch], Any], batches: list[Batch], warmup_rounds: int) -> None:
    for _ in range(warmup_rounds if batches else 0):
        fn(batches[0])
    for batch in batches:
        fn(batch)


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
    show_progress: bool = True,
    desc: str = "",
    retime: bool = False,
) -> EvalOutcome:
    """Run `task` over every sample of `data` not in `done`; return all records in order.

    retime: when samples are done already (an interrupted task), run every batch anyway, so that
    the timer sees a full set of rounds; a batch whose samples are all done keeps their stored
    records (predictions and latencies as first measured) and emits nothing.
    """
    done = dict(done or {})
    ds = data.dataset
    todo = [i for i in range(len(ds)) if str(ds[i]["sample_id"]) not in done]
    emit = on_records or (lambda recs: None)
    # an unfinished task with every record stored (killed while scoring) is re-timed too
    stored = set(done) if retime else set()
    # batches over the same samples as the first run's, so their boundaries are the same
    batches, failed_records = _prepare(task, data, range(len(ds)) if stored else todo,
                                       batch_size)
    failed_records = [r for r in failed_records if r.sample_id not in done]
    emit(failed_records)
    for rec in failed_records:
        done[rec.sample_id] = rec

    bar = progress(desc=desc or task.name, total=len(todo), enabled=show_progress, unit="sample")
    bar.update(len(failed_records))
    state = {"warm": warmup_rounds}

    def run(batch: Batch) -> None:
        try:
            out = _call(loaded, task, batch, max_new_tokens)
        except Exception as exc:  # out of memory: say so, keep what is stored
            if type(exc).__name__ == "OutOfMemoryError":
                raise UnavailableError(
                    f"{loaded.name} as {loaded.variant_id} ran out of memory on a batch of "
                    f"{len(batch.indices)} (finished samples are kept; lower the batch size)"
                ) from None
            raise
        if state["warm"] > 0:  # a warm-up call: outputs are discarded
            state["warm"] -= 1
            return
        if all(str(row["sample_id"]) in stored for row in batch.rows):
            return  # re-timed only: the stored records stand
        recs = _records(task, batch, out)
        emit(recs)
        for rec in recs:
            done[rec.sample_id] = rec
        bar.update(len(recs))

    try:
        runner(run, batches, warmup_rounds if batches else 0)
    finally:
        bar.close()
    records = sorted(done.values(), key=lambda r: r.index)
    kept = sum(all(str(row["sample_id"]) in stored for row in b.rows) * len(b.rows)
               for b in batches)
    return EvalOutcome(records=records, timed_batches=len(batches),
                       failed=[r.sample_id for r in records if r.error], kept=kept)


def _prepare(task: Task, data: TaskDataset, todo: Sequence[int], batch_size: int
             ) -> tuple[list[Batch], list[SampleRecord]]:
    """Decode every image to run; a sample whose image or fields fail becomes a failed record."""
    batches: list[Batch] = []
    failed: list[SampleRecord] = []
    current = Batch(-1, [], [], [], [])
    for i in todo:
        row = data.dataset[i]
        sid = str(row["sample_id"])
        try:
            image = decode_image(row["image"], sid, data.image_root)
            prompt = task.prompt(row) if task.kind == "generate" else ""
        except SampleError as exc:
            failed.append(SampleRecord(sample_id=sid, index=i, batch=-1, prompt=None,
                                       prediction=None, references=_refs(task, row),
                                       latency_s=None, error=str(exc)))
            continue
        if current.first_index < 0:
            current.first_index = i
        current.indices.append(i)
        current.rows.append(row)
        current.images.append(image)
        current.prompts.append(prompt)
        if len(current.indices) == batch_size:
            batches.append(current)
            current = Batch(-1, [], [], [], [])
    if current.indices:
        batches.append(current)
    return batches, failed


def _refs(task: Task, row: dict[str, Any]) -> Any:
    return row["label"] if task.kind == "classify" else task.references(row)


def _call(loaded: LoadedModel, task: Task, batch: Batch, max_new_tokens: int) -> Any:
    if task.kind == "classify":
        return loaded.classify(batch.images)
    return loaded.generate(batch.images, batch.prompts, max_new_tokens)


def _records(task: Task, batch: Batch, out: Any) -> list[SampleRecord]:
    n = len(batch.indices)
    share = out.total_s / n
    recs = []
    for k, (i, row) in enumerate(zip(batch.indices, batch.rows, strict=True)):
        if task.kind == "classify":
            pred: Any = list(out.top5[k])
            new_tokens, prefill = None, None
        else:
            pred = task.postprocess(out.texts[k])
            new_tokens, prefill = out.new_tokens[k], out.prefill_s
        recs.append(SampleRecord(
            sample_id=str(row["sample_id"]), index=i, batch=batch.first_index,
            prompt=batch.prompts[k] or None, prediction=pred, references=_refs(task, row),
            latency_s=share, new_tokens=new_tokens, prefill_s=prefill,
        ))
    return recs
