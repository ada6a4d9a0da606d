"""Calibration samples: drawn from splits that no evaluation reads, each with a stable id.

By default every generative task calibrates on the train split of its default (embedded) set,
while evaluation reads the test split; `--vlmq-calibration TASK=SPEC` names a user's own split
instead. The ids (`source@split#sample_id`) are part of the checkpoint's cache key, and
`overlap` is how a caller proves that they and the evaluated ids are apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vlmq.calibration.settings import POOL_ROWS, CalibrationSettings
from vlmq.errors import VlmqError

DEFAULT_SPLIT = "train"


@dataclass(frozen=True)
class CalibrationSample:
    sample_id: str  # "embedded:coco-scenes@train#11000003"
    image: Any  # PIL image, RGB
    prompt: str
    answer: str  # the first reference: calibration sees the answer's tokens too


def sample_key(source: str, split: str, sample_id: Any) -> str:
    """The id of one sample of one split, the same for calibration and evaluation."""
    return f"{source}@{split}#{sample_id}"


def calibration_specs(settings: CalibrationSettings) -> list[tuple[Any, str]]:
    """(task, dataset spec) pairs: the named ones, or every generative task's default set's
    train split."""
    from vlmq.tasks.base import TASKS

    named = dict(settings.sources)
    for name in named:
        TASKS.get(name)  # did-you-mean on a misspelt task
    if named:
        return [(TASKS.get(name), spec) for name, spec in named.items()]
    return [(task, f"{task.default_dataset}@{DEFAULT_SPLIT}") for task in TASKS.values()
            if task.kind == "generate"]


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (i < total % parts) for i in range(parts)]


def calibration_samples(settings: CalibrationSettings) -> list[CalibrationSample]:
    """`settings.samples` samples, spread evenly over the calibration specs, drawn with
    `settings.seed` from each split's first POOL_ROWS rows."""
    from vlmq.data.images import decode_image
    from vlmq.data.loading import load_task_dataset, select_subset

    specs = calibration_specs(settings)
    out: list[CalibrationSample] = []
    for (task, spec), share in zip(specs, _shares(settings.samples, len(specs)), strict=True):
        if share == 0:  # fewer samples than tasks; select_subset reads 0 as "all"
            continue
        data = load_task_dataset(spec, task.layout_kind, split=DEFAULT_SPLIT, rows=POOL_ROWS)
        if data.split == "test":
            raise VlmqError(f"calibration dataset {spec!r} is a test split, which evaluation "
                            f"reads; calibrate on a train or validation split (SPEC@train)")
        subset, _ = select_subset(data, share, settings.seed)
        for row in subset.dataset:
            refs = task.references(row)
            out.append(CalibrationSample(
                sample_id=sample_key(data.source, data.split, row["sample_id"]),
                image=decode_image(row["image"], str(row["sample_id"]), data.image_root),
                prompt=task.prompt(row), answer=refs[0] if refs else ""))
    return out


def overlap(calibration_ids: Iterable[str], evaluated_ids: Iterable[str]) -> set[str]:
    """Ids both calibrated on and evaluated (empty when the two are apart)."""
    return set(calibration_ids) & set(evaluated_ids)


def calibration_batches(adapter: Any, processor: Any,
                        samples: list[CalibrationSample]) -> list[dict[str, Any]]:
    """One model input per sample (no padding), as the adapter feeds its model a sample and
    its answer (a chat turn, then the answer; BLIP: the caption after the image)."""
    return [dict(adapter.calibration_inputs(processor, s.image, s.prompt, s.answer))
            for s in samples]
