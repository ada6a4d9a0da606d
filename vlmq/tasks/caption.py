"""Image captioning, scored as lmms-eval scores COCO captions (pycocoevalcap, PTB tokens)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vlmq.metrics.base import CorpusScore
from vlmq.metrics.caption import CaptionScorer
from vlmq.tasks.base import TASKS, Task

# lmms-eval's default prompt for COCO captions.
CAPTION_PROMPT = "Provide a one-sentence caption for the provided image."


class CaptionTask(Task):
    name = "caption"
    kind = "generate"
    default_dataset = "coco-scenes"
    layout_kind = "caption"
    columns = ("sample_id", "image", "references")
    description = "one-sentence captions; CIDEr-D, BLEU-1..4, METEOR, ROUGE-L (SPICE opt-in)"
    options = ("python_tokenizer", "spice")
    max_new_tokens = 64  # lmms-eval's COCO setting (greedy)

    def __init__(self, python_tokenizer: bool | None = None, spice: bool | None = None,
                 install_dir: Path | None = None) -> None:
        """python_tokenizer / spice: None reads VLMQ_PTB_PYTHON / VLMQ_SPICE from the env."""
        self.scorer = CaptionScorer(python_tokenizer=python_tokenizer, spice=spice,
                                    install_dir=install_dir)
        self.metrics = self.scorer.metrics()

    def prompt(self, row: dict[str, Any]) -> str:
        return CAPTION_PROMPT

    def references(self, row: dict[str, Any]) -> list[str]:
        return [str(r) for r in row["references"]]

    def start_scoring(self) -> threading.Thread | None:
        return self.scorer.start()

    def score(self, predictions: Sequence[Any], rows: Sequence[dict[str, Any]]) -> CorpusScore:
        return self.scorer.score([str(p) for p in predictions],
                                 [self.references(r) for r in rows])


TASKS.add("caption", CaptionTask())
