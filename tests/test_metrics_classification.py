"""Top-k accuracy and weighted F1 against small cases computed by hand."""

from __future__ import annotations

import pytest

from vlmq.metrics.classification import f1_by_class, topk_hits, weighted_f1


def test_topk_hits() -> None:
    preds = [[3, 1, 2], [0, 2, 1], [2, 0, 1], [1]]
    labels = [3, 1, 1, 0]
    assert topk_hits(preds, labels, 1) == [1.0, 0.0, 0.0, 0.0]
    assert topk_hits(preds, labels, 2) == [1.0, 0.0, 0.0, 0.0]
    assert topk_hits(preds, labels, 3) == [1.0, 1.0, 1.0, 0.0]


def test_scalar_predictions_count_as_top1() -> None:
    assert topk_hits([2, 0], [2, 1], 5) == [1.0, 0.0]


def test_weighted_f1_by_hand() -> None:
    labels = [0, 1, 1, 2, 2, 0]
    preds = [0, 0, 1, 2, 2, 2]
    # class 0: TP 1, FP 1, FN 1 -> 2/4; class 1: TP 1, FP 0, FN 1 -> 2/3;
    # class 2: TP 2, FP 1, FN 0 -> 4/5; each class has 2 samples.
    assert f1_by_class(preds, labels) == pytest.approx({0: 0.5, 1: 2 / 3, 2: 0.8})
    assert weighted_f1(preds, labels) == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)


def test_weighted_f1_unbalanced_and_unseen_class() -> None:
    labels = [0, 0, 0, 1]
    preds = [0, 0, 5, 5]  # class 5 never true: weight 0, but its guesses are misses
    # class 0: TP 2, FN 1 -> 4/5; class 1: TP 0, FN 1 -> 0; weights 3/4 and 1/4.
    assert weighted_f1(preds, labels) == pytest.approx(0.75 * 0.8)


def test_perfect_and_empty() -> None:
    assert weighted_f1([1, 2, 3], [1, 2, 3]) == 1.0
    assert weighted_f1([], []) == 0.0


def test_mismatched_lengths_and_empty_prediction() -> None:
    with pytest.raises(ValueError, match="2 predictions for 1 labels"):
        topk_hits([[1], [2]], [1], 1)
    with pytest.raises(ValueError, match="prediction 0 is empty"):
        topk_hits([[]], [1], 1)
