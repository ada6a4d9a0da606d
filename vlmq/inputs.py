"""The input pipeline: decode and preprocess a few batches ahead of the model, never more.

The subset is cut into fixed slots of `batch_size` indices up front (so the number of timed
rounds is known before anything is decoded). A producer turns each slot, in order, into a
`Prepared` batch: the rows read, images decoded, prompts built and the processor called (CPU
tensors), plus one failed record per sample whose image or fields could not be used. At most
`prefetch` prepared batches wait in a queue, so the decoded inputs resident at any time are
bounded by `prefetch + 2` batches (queued, being prepared, being run) whatever the subset size.

`prefetch > 0` runs the producer in a background thread, overlapped with the model: on a GPU
the CPU work hides behind the model's. `prefetch = 0` prepares each batch when it is asked
for, in the caller's thread. On a CPU-only machine the producer competes with torch's threads
for the same cores, so overlapping there slows the model's own (timed) calls; see
`default_prefetch`. A torch DataLoader with worker processes was not used: it would pickle
the processor and dataset into each worker and, on 2 cores, only add processes competing for
them; a thread shares the process and releases the GIL in PIL's decoding and torch's ops.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vlmq.context import ContextBudget, enforce
from vlmq.data.images import decode_image
from vlmq.data.loading import TaskDataset
from vlmq.devices import is_cuda
from vlmq.errors import SampleError
from vlmq.measure.latency import Timer
from vlmq.results.schema import SampleRecord
from vlmq.tasks.base import Task


@dataclass
class Prepared:
    """One slot after preprocessing: the model's CPU inputs and the samples they came from.
    `indices` is empty when every sample of the slot failed."""

    indices: list[int]
    rows: list[dict[str, Any]]
    prompts: list[str]
    inputs: Any  # the processor's tensors (CPU), None when the slot has no usable sample
    prepare_s: float  # decoding + processor time for the slot
    failed: list[SampleRecord] = field(default_factory=list)
    wait_s: float = 0.0  # how long the model waited for this batch (set when taken)
    truncated: dict[int, int] = field(default_factory=dict)  # index -> prompt tokens cut

    @property
    def first_index(self) -> int:
        """The batch's id in records: the subset position of its first sample."""
        return self.indices[0]


def default_prefetch(device: str) -> int:
    """Two batches ahead on a GPU; on a CPU, prepare in turn (a background producer would take
    cores from the timed model calls: see "Input pipeline" in docs/design-decisions.md)."""
    return 2 if is_cuda(device) else 0


def slots(todo: Sequence[int], batch_size: int) -> list[list[int]]:
    return [list(todo[k:k + batch_size]) for k in range(0, len(todo), batch_size)]


def references(task: Task, row: dict[str, Any]) -> Any:
    return row["label"] if task.kind == "classify" else task.references(row)


def prepare_slot(task: Task, data: TaskDataset, adapter: Any, processor: Any,
                 indices: list[int], budget: ContextBudget | None = None) -> Prepared:
    """Read, decode and preprocess one slot, timed (`prepare_s`); a sample that fails becomes a
    failed record, and so does one whose prompt is over the model's context (`budget`, see
    vlmq.context)."""
    with Timer() as timer:
        out = _read_slot(task, data, adapter, processor, indices, budget)
    out.prepare_s = timer.seconds
    return out


def _read_slot(task: Task, data: TaskDataset, adapter: Any, processor: Any,
               indices: list[int], budget: ContextBudget | None) -> Prepared:
    """One slot's inputs and its failed records."""
    out = Prepared([], [], [], None, 0.0)
    images = []
    for i in indices:
        row = data.dataset[i]
        sid = str(row["sample_id"])
        try:
            image = decode_image(row["image"], sid, data.image_root)
            prompt = task.prompt(row) if task.kind == "generate" else ""
        except SampleError as exc:
            out.failed.append(_failed(task, i, row, None, str(exc)))
            continue
        out.indices.append(i)
        out.rows.append(row)
        out.prompts.append(prompt)
        images.append(image)
    if images:
        out.inputs = adapter.prepare(processor, images, out.prompts)
        if budget is not None:
            enforce(budget, out, images, adapter, processor, lambda k, why: _failed(
                task, out.indices[k], out.rows[k], out.prompts[k], why))
    return out


def _failed(task: Task, index: int, row: dict[str, Any], prompt: str | None,
            error: str) -> SampleRecord:
    return SampleRecord(sample_id=str(row["sample_id"]), index=index, batch=-1, prompt=prompt,
                        prediction=None, references=references(task, row), latency_s=None,
                        error=error)


class InputPipeline:
    """Iterate prepared slots in order: `next()` returns the next `Prepared` (with `wait_s`,
    how long the caller blocked for it) or None when every slot was handed out. Always
    `close()` it (or use it as a context manager): that stops the producer."""

    def __init__(self, make: Callable[[list[int]], Prepared], slots: list[list[int]],
                 prefetch: int) -> None:
        self._make = make
        self._slots = list(slots)
        self._given = 0
        self._prefetch = prefetch
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if prefetch > 0 and self._slots:
            self._thread = threading.Thread(target=self._produce, name="vlmq-inputs",
                                            daemon=True)
            self._thread.start()

    def _produce(self) -> None:
        for slot in self._slots:
            if self._stop.is_set():
                return
            try:
                item: Any = self._make(slot)
            except BaseException as exc:  # handed to the consumer, raised there
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException):
                return

    def next(self) -> Prepared | None:
        if self._given >= len(self._slots):
            return None
        with Timer() as waited:
            if self._thread is None:
                item: Any = self._make(self._slots[self._given])
            else:
                item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        item.wait_s = waited.seconds
        self._given += 1
        return item

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> InputPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
