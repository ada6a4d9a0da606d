"""Short-answer VQA (VQAv2 and TextVQA style), scored with EvalAI's normalized VQA accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vlmq.errors import VlmqError
from vlmq.metrics.base import CorpusScore, MetricInfo
from vlmq.metrics.vqa import vqa_accuracy
from vlmq.tasks.base import TASKS, Task

# lmms-eval's post-prompt for VQAv2 and TextVQA.
ANSWER_SUFFIX = "\nAnswer the question using a single word or phrase."
OCR_PREFIX = "\nReference OCR token: "

VQA_METRICS = (
    MetricInfo("accuracy", description="VQA accuracy: EvalAI normalization, leave-one-out vote"),
)


class VQATask(Task):
    """VQAv2-style: the question and lmms-eval's short-answer instruction."""

    name = "vqa"
    kind = "generate"
    default_dataset = "easy-vqa"
    layout_kind = "vqa"
    columns = ("sample_id", "image", "question", "answers")
    metrics = VQA_METRICS
    description = "short-answer VQA (VQAv2 style), VQA accuracy"
    options: tuple[str, ...] = ()
    max_new_tokens: int | None = None  # the run's setting

    def prompt(self, row: dict[str, Any]) -> str:
        return f"{row['question']}{ANSWER_SUFFIX}"

    def references(self, row: dict[str, Any]) -> list[str]:
        return [str(a) for a in row["answers"]]

    def score(self, predictions: Sequence[Any], rows: Sequence[dict[str, Any]]) -> CorpusScore:
        if len(predictions) != len(rows):
            raise VlmqError(f"{len(predictions)} predictions for {len(rows)} rows")
        per = []
        for pred, row in zip(predictions, rows, strict=True):
            answers = self.references(row)
            if not answers:
                raise VlmqError(f"sample {row.get('sample_id')!r} has no reference answers")
            per.append(vqa_accuracy(str(pred), answers))
        corpus = sum(per) / len(per) if per else 0.0
        return CorpusScore(corpus={"accuracy": corpus}, per_sample={"accuracy": per}, notes={})


class TextVQATask(VQATask):
    """TextVQA-style: as VQAv2, optionally with the image's OCR tokens appended to the prompt."""

    name = "textvqa"
    default_dataset = "text-signs"
    columns = ("sample_id", "image", "question", "answers", "ocr_tokens")
    description = "reading text in images (TextVQA style), VQA accuracy"
    options = ("ocr_tokens",)

    def __init__(self, ocr_tokens: bool = False) -> None:
        self.ocr_tokens = bool(ocr_tokens)

    def prompt(self, row: dict[str, Any]) -> str:
        text = super().prompt(row)
        if self.ocr_tokens:
            text += OCR_PREFIX + ", ".join(str(t) for t in row.get("ocr_tokens") or [])
        return text


TASKS.add("vqa", VQATask())
TASKS.add("textvqa", TextVQATask())
