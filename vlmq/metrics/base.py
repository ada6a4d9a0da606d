"""What every metric declares about itself, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MetricInfo:
    """Facts about one metric: reports, gates and compare all read them from here."""

    name: str
    higher_is_better: bool = True
    unit: str = ""
    gated: bool = True  # asserted against the baseline's retention threshold
    description: str = ""
    # how the corpus value comes from the samples, for bootstrap resamples (vlmq.stats.corpus):
    # "mean" of per-sample scores, "cider", "bleu-N", or "corpus" (not a mean: approximated)
    aggregate: str = "mean"


@dataclass
class CorpusScore:
    """Scores of a whole evaluated set: corpus values and, per metric, one value per sample."""

    corpus: dict[str, float]
    per_sample: dict[str, list[float]]
    notes: dict[str, str]  # e.g. {"tokenizer": "ptb-java", "METEOR": "skipped: no Java"}
    # per-sample statistics a corpus metric is recomputed from (caption tokens)
    stats: dict[str, Any] = field(default_factory=dict)


def retention(value: float, baseline: float, higher_is_better: bool) -> float:
    """variant / baseline for higher-is-better metrics (inverse otherwise); 1.0 when both are 0."""
    num, den = (value, baseline) if higher_is_better else (baseline, value)
    if den == 0:
        return 1.0 if num == 0 else float("inf")
    return num / den
