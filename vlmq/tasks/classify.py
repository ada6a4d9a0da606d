"""Image classification: top-1, top-5 and support-weighted F1 over the dataset's classes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vlmq.errors import VlmqError
from vlmq.metrics.base import CorpusScore, MetricInfo
from vlmq.metrics.classification import f1_by_class, ranked_lists, topk_hits
from vlmq.tasks.base import TASKS, Task

CLASSIFY_METRICS = (
    MetricInfo("top1", description="top-1 accuracy"),
    MetricInfo("top5", description="top-5 accuracy"),
    MetricInfo("f1_weighted", aggregate="corpus",
               description="F1 per class, weighted by class support"),
)


class ClassifyTask(Task):
    """Predictions are class indices ranked best first (top-5 lists); rows carry an int label.

    Class names come from the dataset's label feature: pass them to the constructor or call
    `set_label_names` once the dataset is loaded; they are used for references and checks.
    """

    name = "classify"
    kind = "classify"
    default_dataset = "fashion-mnist"
    layout_kind = "classify"
    columns = ("sample_id", "image", "label")
    metrics = CLASSIFY_METRICS
    description = "image classification: top-1, top-5, weighted F1"
    options = ("label_names",)
    topk = 5

    def __init__(self, label_names: Sequence[str] | None = None) -> None:
        self.label_names: list[str] | None = None
        if label_names is not None:
            self.set_label_names(label_names)

    def set_label_names(self, names: Sequence[str]) -> None:
        """The label feature's names, index = class id (e.g. `ClassLabel.names`)."""
        if isinstance(names, str) or not names:
            raise VlmqError("class names must be a non-empty list of strings, one per class id")
        self.label_names = [str(n) for n in names]

    def label_of(self, row: dict[str, Any]) -> int:
        label = row["label"]
        if isinstance(label, bool) or not isinstance(label, int):
            raise VlmqError(f"sample {row.get('sample_id')!r}: label {label!r} is not a class id")
        if self.label_names is not None and not 0 <= label < len(self.label_names):
            raise VlmqError(f"sample {row.get('sample_id')!r}: label {label} is outside the "
                            f"{len(self.label_names)} classes of the label feature")
        return label

    def references(self, row: dict[str, Any]) -> list[str]:
        label = self.label_of(row)
        return [self.label_names[label] if self.label_names else str(label)]

    def score(self, predictions: Sequence[Any], rows: Sequence[dict[str, Any]]) -> CorpusScore:
        if len(predictions) != len(rows):
            raise VlmqError(f"{len(predictions)} predictions for {len(rows)} rows")
        labels = [self.label_of(r) for r in rows]
        try:
            ranked = ranked_lists(predictions)
            top1 = topk_hits(ranked, labels, 1)
            top5 = topk_hits(ranked, labels, self.topk)
        except (TypeError, ValueError) as exc:
            raise VlmqError(f"classification predictions: {exc}") from None
        firsts = [r[0] for r in ranked]
        by_class = f1_by_class(firsts, labels)
        # Each sample carries the F1 of its true class: their mean is exactly the weighted F1.
        f1_per = [by_class[y] for y in labels]
        n = max(len(labels), 1)
        return CorpusScore(
            corpus={"top1": sum(top1) / n, "top5": sum(top5) / n, "f1_weighted": sum(f1_per) / n},
            per_sample={"top1": top1, "top5": top5, "f1_weighted": f1_per},
            notes={"f1_weighted": "per-sample value = F1 of the sample's true class (not "
                                  "independent across samples)"},
        )


TASKS.add("classify", ClassifyTask())
