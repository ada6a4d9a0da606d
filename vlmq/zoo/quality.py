"""Held-out quality of the zoo checkpoints, measured with the field's scoring rules.

The harness has its own task code; this small copy lets the training script write a model
card without depending on it. VQA answers are normalized the EvalAI way (case, punctuation,
articles, number words; the contractions table is left out since no embedded answer has one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PUNCT = ';/[]"{}()=+\\_-><@`,?!'
_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
)
_NUMBERS = {w: str(i) for i, w in enumerate(_NUMBER_WORDS)}
_NUMBERS["none"] = "0"
_ARTICLES = {"a", "an", "the"}
_PERIOD = re.compile(r"\.(?!\d)")


def normalize_answer(text: str) -> str:
    """EvalAI-style VQA answer normalization."""
    text = text.lower().replace("\n", " ").replace("\t", " ").replace(",", "").replace("?", "")
    text = text.replace("'s", " 's").strip()
    digit_comma = re.search(r"\d,\d", text) is not None
    out = text
    for mark in _PUNCT:
        if (mark + " " in out or " " + mark in out) or digit_comma:
            out = out.replace(mark, "")
        else:
            out = out.replace(mark, " ")
    out = _PERIOD.sub("", out)
    words = [_NUMBERS.get(w, w) for w in out.split() if w not in _ARTICLES]
    return " ".join(words)


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """Leave-one-out VQA accuracy of one prediction against (usually ten) human answers."""
    pred = normalize_answer(prediction)
    gts = [normalize_answer(a) for a in answers]
    if len(gts) == 1:
        return float(pred == gts[0])
    scores = []
    for i in range(len(gts)):
        matches = sum(1 for j, g in enumerate(gts) if j != i and g == pred)
        scores.append(min(1.0, matches / 3))
    return sum(scores) / len(scores)


def cider_d(predictions: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus CIDEr-D (pycocoevalcap) with the PTB tokenizer, as lmms-eval scores COCO."""
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": r} for r in refs] for i, refs in enumerate(references)})
    res = tok.tokenize({i: [{"caption": p}] for i, p in enumerate(predictions)})
    score, _ = Cider().compute_score(gts, res)
    return float(score)
