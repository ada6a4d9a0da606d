"""Embedded datasets: real layouts, determinism, disjoint splits, answers that need normalizing."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from vlmq.data.embedded import EMBEDDED, builders, load_embedded, scenes, signs  # noqa: E402
from vlmq.errors import VlmqError  # noqa: E402
from vlmq.metrics.vqa import normalize_answer  # noqa: E402

COCO_COLUMNS = {"image", "question_id", "question", "answer", "id"}
TEXTVQA_COLUMNS = {
    "image_id", "question_id", "question", "question_tokens", "image", "image_width",
    "image_height", "flickr_original_url", "flickr_300k_url", "answers", "image_classes",
    "set_name", "ocr_tokens",
}


def test_registry_names() -> None:
    # vlmq's own sets; other packages may register more through `vlmq.datasets`
    assert {"coco-scenes", "text-signs", "easy-vqa", "fashion-mnist"} <= set(EMBEDDED.names())
    with pytest.raises(VlmqError, match="coco-scenes"):
        EMBEDDED.get("coco-scene")


def test_unknown_split_is_a_clear_error() -> None:
    with pytest.raises(VlmqError, match="split"):
        load_embedded("coco-scenes", "val")


def test_scenes_layout_and_references() -> None:
    ds = builders.build_scenes("test", n=12)
    assert set(ds.column_names) == COCO_COLUMNS
    row = ds[3]
    assert row["image"].size == (96, 96) and row["image"].mode == "RGB"
    assert row["question"] == "Provide a one-sentence caption for the provided image."
    assert int(row["question_id"].removesuffix(".jpg")) == row["id"]
    assert len(row["answer"]) >= 5 and len(set(row["answer"])) == len(row["answer"])


def test_generators_are_deterministic_and_split_seeds_differ() -> None:
    a, b = scenes.sample(13, 7), scenes.sample(13, 7)
    assert a["captions"] == b["captions"]
    assert np.array_equal(np.asarray(a["image"]), np.asarray(b["image"]))
    s1, s2 = signs.sample(23, 5), signs.sample(23, 5)
    assert s1["answers"] == s2["answers"]
    assert np.array_equal(np.asarray(s1["image"]), np.asarray(s2["image"]))
    train = {np.asarray(scenes.sample(11, i)["image"]).tobytes() for i in range(50)}
    test = {np.asarray(scenes.sample(13, i)["image"]).tobytes() for i in range(50)}
    assert not train & test


def test_signs_layout_and_answers_need_normalizing() -> None:
    ds = builders.build_signs("validation", n=40)
    assert set(ds.column_names) == TEXTVQA_COLUMNS
    raw_majority = normalized_majority = 0
    for row in ds:
        assert len(row["answers"]) == 10 and row["image"].size == (96, 96)
        word = row["ocr_tokens"][0].lower()
        assert word in signs.WORDS
        raw_majority += sum(a == word for a in row["answers"]) >= 7
        normalized_majority += sum(normalize_answer(a) == word for a in row["answers"]) >= 7
    assert normalized_majority == len(ds)
    assert raw_majority < len(ds) // 2  # surface forms differ: normalization matters


def test_easy_vqa_splits_are_disjoint_by_image() -> None:
    val = load_embedded("easy-vqa", "validation")
    assert {"question_id", "image_id", "image", "question", "answers", "answer_type"} <= set(
        val.column_names
    )
    from vlmq.data.embedded import easyvqa

    train_ids = {q.image_id for q in easyvqa.questions("train")}
    assert train_ids.isdisjoint(set(val["image_id"]))
    test_qids = {q.question_id for q in easyvqa.questions("test")}
    assert test_qids.isdisjoint(set(val["question_id"]))


def test_fashion_is_rgb_with_class_names(fashion_mnist: None) -> None:
    pytest.importorskip("datasets")
    ds = load_embedded("fashion-mnist", "validation")
    assert len(ds) == 5000
    assert ds.features["label"].names[0] == "T-shirt/top"
    assert ds[0]["image"].mode == "RGB" and ds[0]["image"].size == (28, 28)


def test_cache_round_trip(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VLMQ_CACHE_DIR", str(tmp_path))
    first = load_embedded("text-signs", "validation")
    spec = EMBEDDED.get("text-signs")
    assert (tmp_path / "embedded" / "text-signs" / spec.version / "validation").is_dir()
    again = load_embedded("text-signs", "validation")
    assert first["answers"] == again["answers"] and len(first) >= 500
