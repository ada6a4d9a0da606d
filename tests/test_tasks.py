"""Task registry, per-run options, prompts and scoring through the task objects."""

from __future__ import annotations

import numpy as np
import pytest

from vlmq.errors import VlmqError
from vlmq.tasks import TASKS, make_task, task_options
from vlmq.tasks.caption import CAPTION_PROMPT
from vlmq.tasks.vqa import ANSWER_SUFFIX

GATED = {
    "caption": {"cider", "bleu_4", "meteor", "rouge_l"},
    "vqa": {"accuracy"},
    "textvqa": {"accuracy"},
    "classify": {"top1", "top5", "f1_weighted"},
}


def test_registry_holds_the_tasks() -> None:
    assert set(TASKS.names()) == set(GATED)
    expected = {"caption": ("generate", "coco-scenes"), "vqa": ("generate", "easy-vqa"),
                "textvqa": ("generate", "text-signs"), "classify": ("classify", "fashion-mnist")}
    for name, (kind, dataset) in expected.items():
        task = TASKS.get(name)
        assert (task.name, task.kind, task.default_dataset) == (name, kind, dataset)


@pytest.mark.parametrize("name", sorted(GATED))
def test_metrics_declare_direction_unit_and_gate(name: str) -> None:
    task = make_task(name)
    assert all(m.higher_is_better and m.unit == "" for m in task.metrics)
    assert {m.name for m in task.metrics if m.gated} == GATED[name]
    assert task.metric(next(iter(GATED[name]))).gated


def test_caption_metric_names() -> None:
    names = [m.name for m in make_task("caption", spice=False).metrics]
    assert names == ["cider", "bleu_1", "bleu_2", "bleu_3", "bleu_4", "meteor", "rouge_l"]
    spice = make_task("caption", spice=True).metric("spice")
    assert spice.higher_is_better and not spice.gated


def test_make_task_validates_names_and_options() -> None:
    with pytest.raises(VlmqError, match="Did you mean 'caption'"):
        make_task("captoin")
    with pytest.raises(VlmqError, match="option 'ocr_token'. Did you mean 'ocr_tokens'"):
        make_task("textvqa", ocr_token=True)
    # An option of another task is ignored, so one set of settings serves every task.
    assert make_task("vqa", ocr_tokens=True, spice=True).prompt({"question": "Q?"}) == (
        "Q?" + ANSWER_SUFFIX)
    assert task_options("textvqa") == ("ocr_tokens",)
    assert make_task("vqa") is not make_task("vqa")


def test_prompts() -> None:
    assert make_task("caption").prompt({}) == (
        "Provide a one-sentence caption for the provided image.") == CAPTION_PROMPT
    row = {"question": "What does the sign say?", "ocr_tokens": ["STOP", "ahead"]}
    plain = "What does the sign say?\nAnswer the question using a single word or phrase."
    assert make_task("vqa").prompt(row) == plain
    assert make_task("textvqa").prompt(row) == plain
    assert make_task("textvqa", ocr_tokens=True).prompt(row) == (
        plain + "\nReference OCR token: STOP, ahead")
    assert make_task("textvqa", ocr_tokens=True).prompt({"question": "Q", "ocr_tokens": []}) == (
        "Q" + ANSWER_SUFFIX + "\nReference OCR token: ")


def test_vqa_scores_per_sample() -> None:
    rows = [{"sample_id": "a", "answers": ["two"] * 10},
            {"sample_id": "b", "answers": ["red"] * 2 + ["blue"] * 8},
            {"sample_id": "c", "answers": ["circle"]}]
    got = make_task("textvqa").score(["2", "Red.", "square"], rows)
    assert got.per_sample["accuracy"] == pytest.approx([1.0, 0.6, 0.0])
    assert got.corpus["accuracy"] == pytest.approx(1.6 / 3)
    assert make_task("vqa").references(rows[1])[:2] == ["red", "red"]
    with pytest.raises(VlmqError, match="'x' has no reference answers"):
        make_task("vqa").score(["a"], [{"sample_id": "x", "answers": []}])
    with pytest.raises(VlmqError, match="2 predictions for 1 rows"):
        make_task("vqa").score(["a", "b"], rows[:1])


def test_caption_task_scores_through_pycocoevalcap(monkeypatch) -> None:
    pytest.importorskip("pycocoevalcap")
    monkeypatch.setenv("PATH", "/nonexistent")  # no Java: fast, and the reason is recorded
    task = make_task("caption")
    rows = [{"sample_id": "1", "references": ["a dog on a couch", "a brown dog lying on a sofa"]},
            {"sample_id": "2", "references": ["a red bus on a street", "a bus driving in town"]}]
    got = task.score(["A dog lying on a couch.", "a bus on the street"], rows)
    assert got.notes["tokenizer"] == "ptb-python" and "meteor" in got.notes
    assert set(got.corpus) == {"cider", "bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l"}
    assert all(len(v) == 2 for v in got.per_sample.values())
    assert got.corpus["cider"] == pytest.approx(sum(got.per_sample["cider"]) / 2)
    assert task.references(rows[0]) == rows[0]["references"]


def test_classify_scores_and_uses_label_names() -> None:
    task = make_task("classify", label_names=["cat", "dog", "bird"])
    rows = [{"sample_id": str(i), "label": y} for i, y in enumerate([0, 1, 1, 2, 2, 0])]
    preds = [[0, 1], [0, 1, 2], [1, 0], [2, 0], [2, 1], [2, 1, 0, 0, 0]]
    got = task.score(preds, rows)
    assert got.per_sample["top1"] == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    assert got.per_sample["top5"] == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert got.corpus["top1"] == pytest.approx(4 / 6)
    assert got.corpus["f1_weighted"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)
    assert got.corpus["f1_weighted"] == pytest.approx(sum(got.per_sample["f1_weighted"]) / 6)
    assert task.references(rows[3]) == ["bird"]
    assert task.score(np.array([[1, 0], [2, 1]]), rows[2:4]).corpus["top1"] == 1.0
    with pytest.raises(VlmqError, match="prediction 0 is empty"):
        task.score([[]], rows[:1])
    with pytest.raises(VlmqError, match="label 3 is outside the 3 classes"):
        task.score([[3]], [{"sample_id": "z", "label": 3}])


def test_classify_label_names_by_setter() -> None:
    task = make_task("classify")
    assert task.references({"label": 4}) == ["4"]
    task.set_label_names(["T-shirt/top", "Trouser"])
    assert task.references({"label": 1}) == ["Trouser"]
    with pytest.raises(VlmqError, match="non-empty list"):
        task.set_label_names([])
    with pytest.raises(VlmqError, match="not a class id"):
        task.score([[0]], [{"sample_id": "s", "label": "0"}])
