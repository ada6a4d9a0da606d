"""Image classification metrics: top-k accuracy and support-weighted F1, with numpy only."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ranked_lists(predictions: Sequence[Sequence[int]]) -> list[list[int]]:
    """Predictions as lists of int class ids, best first (a bare id counts as a top-1 list)."""
    out = []
    for i, p in enumerate(predictions):
        ranked = [int(p)] if np.isscalar(p) else [int(c) for c in p]
        if not ranked:
            raise ValueError(f"prediction {i} is empty: expected class indices, best first")
        out.append(ranked)
    return out


def topk_hits(predictions: Sequence[Sequence[int]], labels: Sequence[int], k: int) -> list[float]:
    """1.0 where the label is among the first k predicted classes, per sample."""
    if len(predictions) != len(labels):
        raise ValueError(f"{len(predictions)} predictions for {len(labels)} labels")
    return [float(int(y) in p[:k]) for p, y in zip(ranked_lists(predictions), labels, strict=True)]


def f1_by_class(top1: Sequence[int], labels: Sequence[int]) -> dict[int, float]:
    """F1 = 2 TP / (2 TP + FP + FN) of every class present in the labels (0 when undefined)."""
    y = np.asarray(labels, dtype=np.int64)
    p = np.asarray(top1, dtype=np.int64)
    if y.shape != p.shape:
        raise ValueError(f"{p.size} predictions for {y.size} labels")
    out: dict[int, float] = {}
    for c in np.unique(y):
        tp = int(np.sum((p == c) & (y == c)))
        fp = int(np.sum((p == c) & (y != c)))
        fn = int(np.sum((p != c) & (y == c)))
        out[int(c)] = 2 * tp / (2 * tp + fp + fn)  # fn >= 1 or tp >= 1: never 0 / 0
    return out


def weighted_f1(top1: Sequence[int], labels: Sequence[int]) -> float:
    """F1 averaged over the classes present in the labels, weighted by their support.

    Same definition as scikit-learn's average="weighted": classes that are only predicted, never
    true, carry weight 0 (a wrong guess still counts as a miss of the true class). Equal to the
    mean over samples of the F1 of each sample's true class.
    """
    by_class = f1_by_class(top1, labels)
    if not by_class:
        return 0.0
    return float(sum(by_class[int(y)] for y in labels) / len(labels))
