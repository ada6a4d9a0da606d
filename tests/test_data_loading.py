"""Dataset loading: every real layout in every storage form reads into the canonical layout."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from datasets import Dataset, Features, Image, List, Value, load_from_disk
from fixtures_layouts import (
    CASES,
    FORMS,
    ROWS,
    colour,
    png,
    write_coco_folder,
    write_parquet,
    write_saved,
)
from PIL import Image as PILImage

from vlmq.data.images import decode_image
from vlmq.data.layouts import find_layout
from vlmq.data.loading import TaskDataset, load_task_dataset, select_subset
from vlmq.errors import SampleError, VlmqError

CANONICAL = {
    "caption": ["sample_id", "image", "references"],
    "vqa": ["sample_id", "image", "question", "answers", "ocr_tokens"],
    "classify": ["sample_id", "image", "label"],
}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def _row_of(image: PILImage.Image) -> int:
    """The fixture row an image was drawn for (its colour encodes the row)."""
    pixel = image.getpixel((0, 0))
    matches = [i for i in range(ROWS) if colour(i) == pixel]
    assert matches, f"image colour {pixel} belongs to no fixture row"
    return matches[0]


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("case_name", list(CASES))
def test_every_layout_in_every_form_loads_canonical(
    tmp_path: Path, case_name: str, form: str
) -> None:
    case = CASES[case_name]
    root = FORMS[form](case.build(), tmp_path / "copy", "test")
    # phiyodr's parquet/saved copies hold no pixels: the images come from a local COCO folder.
    needs_root = not case.has_pixels and form != "imagefolder"
    image_root = str(write_coco_folder(tmp_path / "val2017")) if needs_root else None

    ds = load_task_dataset(str(root), case.kind, image_root=image_root)

    assert isinstance(ds, TaskDataset)
    assert ds.layout == case.name
    assert ds.split == "test"
    assert ds.source == str(root.resolve())
    # plus `group` where the layout names what samples share (VQAv2's image_id)
    assert [c for c in ds.dataset.column_names if c != "group"] == CANONICAL[case.kind]
    groups = ds.groups()
    assert (groups is not None) == (case.name == "vqav2")
    if groups is not None:
        assert len(set(groups.values())) < len(ds) == len(groups)
    assert len(ds) == ROWS
    # An imagefolder names its classes after its sorted class folders.
    names = case.label_names
    if names is not None and form == "imagefolder":
        names = sorted(names)
    assert ds.label_names == names
    seen = set()
    for row in ds.dataset:
        image = decode_image(row["image"], row["sample_id"], ds.image_root)
        assert image.mode == "RGB" and image.size == (8, 6)
        i = _row_of(image)
        seen.add(i)
        fields = {k: v for k, v in row.items() if k != "image"}
        expected = case.expected(i)
        if case.kind == "classify":
            # Generic image/label rows are named by position (imagefolder reorders them by
            # class), and a label is checked through its class name.
            expected["sample_id"] = fields["sample_id"]
            expected["label"] = case.label_names[expected["label"]]
            fields["label"] = ds.label_names[fields["label"]]
        assert fields == expected
    assert seen == set(range(ROWS))


def test_image_column_stays_undecoded(tmp_path: Path) -> None:
    root = write_parquet(CASES["textvqa"].build(), tmp_path / "tv", "validation")
    ds = load_task_dataset(f"{root}@validation", "vqa")
    assert ds.dataset.features["image"] == Image(decode=False)
    value = ds.dataset[0]["image"]
    assert isinstance(value, dict) and value["bytes"][:4] == b"\x89PNG"


def test_single_parquet_file_and_flat_folder(tmp_path: Path) -> None:
    ds = CASES["coco-caption2017"].build()
    one = tmp_path / "one.parquet"
    ds.to_parquet(str(one))
    assert len(load_task_dataset(str(one), "caption", split="validation")) == ROWS
    flat = tmp_path / "flat"
    flat.mkdir()
    ds.to_parquet(str(flat / "part.parquet"))
    # A folder with no split names holds one "train" split, which must then be asked for.
    with pytest.raises(VlmqError, match=r"no split 'test'; available: train"):
        load_task_dataset(str(flat), "caption")
    assert load_task_dataset(f"{flat}@train", "caption").split == "train"


def test_saved_single_dataset_is_any_split(tmp_path: Path) -> None:
    CASES["easy-vqa"].build().save_to_disk(str(tmp_path / "saved"))
    ds = load_task_dataset(str(tmp_path / "saved"), "vqa", split="validation")
    assert ds.layout == "vqav2" and ds.split == "validation" and len(ds) == ROWS


def test_split_in_spec_wins_and_missing_split_names_available(tmp_path: Path) -> None:
    root = write_saved(CASES["easy-vqa"].build(), tmp_path / "s", "validation")
    assert load_task_dataset(f"{root}@validation", "vqa", split="test").split == "validation"
    with pytest.raises(VlmqError, match=r"no split 'test'; available: validation"):
        load_task_dataset(str(root), "vqa")


@pytest.mark.parametrize(
    ("case_name", "kind", "drop", "layout"),
    [
        ("textvqa", "vqa", "answers", "lmms-lab/textvqa"),
        ("coco-caption2017", "caption", "answer", "lmms-lab/COCO-Caption2017"),
        ("phiyodr-coco2017", "caption", "captions", "phiyodr/coco2017"),
        ("flowers102-dpdl", "classify", "label", "image-label"),
    ],
)
def test_missing_column_is_named(
    tmp_path: Path, case_name: str, kind: str, drop: str, layout: str
) -> None:
    root = write_parquet(CASES[case_name].build().remove_columns(drop), tmp_path / "m", "test")
    with pytest.raises(VlmqError) as err:
        load_task_dataset(str(root), kind)
    message = str(err.value)
    assert "\n" not in message
    assert f"closest is {layout!r}, which needs the missing column(s): {drop}" in message


def test_wrong_kind_names_missing_columns(tmp_path: Path) -> None:
    root = write_parquet(CASES["easy-vqa"].build(), tmp_path / "e", "test")
    with pytest.raises(VlmqError, match="missing column"):
        load_task_dataset(str(root), "caption")
    with pytest.raises(VlmqError, match="unknown task kind 'detect'"):
        load_task_dataset(str(root), "detect")


def test_flowers_hub_ids_pick_the_flowers_layout() -> None:
    columns = ["image", "label"]
    assert find_layout(columns, "classify", "nelorth/oxford-flowers").name == "flowers102"
    assert find_layout(columns, "classify", "dpdl-benchmark/oxford_flowers102").name == "flowers102"
    assert find_layout(columns, "classify").name == "image-label"


def test_canonical_data_and_string_labels(tmp_path: Path) -> None:
    images = [{"bytes": png(i), "path": None} for i in range(3)]
    vqa = Dataset.from_dict(
        {"image": images, "question": ["q0", "q1", "q2"], "answers": [["a"], ["b"], ["c", "d"]]},
        features=Features(
            {"image": Image(), "question": Value("string"), "answers": List(Value("string"))}
        ),
    )
    ds = load_task_dataset(str(write_saved(vqa, tmp_path / "v", "test")), "vqa")
    assert ds.layout == "vqa-canonical"
    assert ds.dataset["sample_id"] == ["0", "1", "2"]
    assert ds.dataset["ocr_tokens"] == [[], [], []]

    cls = Dataset.from_dict(
        {"image": images, "label": ["tulip", "daisy", "tulip"]},
        features=Features({"image": Image(), "label": Value("string")}),
    )
    ds = load_task_dataset(str(write_parquet(cls, tmp_path / "c", "test")), "classify")
    assert ds.label_names == ["daisy", "tulip"]  # sorted distinct strings
    assert ds.dataset["label"] == [1, 0, 1]


def test_vqav2_answer_dicts_and_answer_limits(tmp_path: Path) -> None:
    def vqa_with(answers: list) -> Path:
        data = Dataset.from_dict(
            {
                "image": [{"bytes": png(0), "path": None}],
                "question_id": [7],
                "question": ["what?"],
                "answers": [answers],
            },
            features=Features({"image": Image(), "question_id": Value("int64"),
                               "question": Value("string"),
                               "answers": List({"answer": Value("string"),
                                                "answer_id": Value("int64")})}
                              if answers and isinstance(answers[0], dict) else
                              {"image": Image(), "question_id": Value("int64"),
                               "question": Value("string"), "answers": List(Value("string"))}),
        )
        out = tmp_path / f"vqa{len(answers)}"
        return write_saved(data, out, "test")

    ds = load_task_dataset(
        str(vqa_with([{"answer": "red", "answer_id": 1}, {"answer": "Red", "answer_id": 2}])), "vqa"
    )
    assert ds.dataset["answers"] == [["red", "Red"]]
    with pytest.raises(VlmqError, match=r"sample 7: no answers .*@validation"):
        load_task_dataset(str(vqa_with([])), "vqa")
    with pytest.raises(VlmqError, match=r"sample 7: 11 answers"):
        load_task_dataset(str(vqa_with(["x"] * 11)), "vqa")


def test_duplicate_sample_ids_are_refused(tmp_path: Path) -> None:
    data = CASES["easy-vqa"].build()
    data = data.map(lambda row: {"question_id": 1})
    with pytest.raises(VlmqError, match="sample id '1' appears twice"):
        load_task_dataset(str(write_saved(data, tmp_path / "d", "test")), "vqa")


def test_unreadable_image_fails_only_its_sample(tmp_path: Path) -> None:
    data = CASES["textvqa"].build().cast_column("image", Image(decode=False))
    data = data.map(
        lambda row, i: {"image": {"bytes": b"not a png" if i == 2 else row["image"]["bytes"],
                                  "path": None}},
        with_indices=True,
    )
    ds = load_task_dataset(str(write_parquet(data, tmp_path / "bad", "test")), "vqa")
    results = {}
    for row in ds.dataset:
        try:
            results[row["sample_id"]] = decode_image(row["image"], row["sample_id"]).size
        except SampleError as exc:
            results[row["sample_id"]] = str(exc)
    assert results["34604"].startswith("sample 34604: unreadable image (")
    assert [v for k, v in results.items() if k != "34604"] == [(8, 6)] * 3


def test_decode_image_inputs(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png(1))
    assert decode_image("a.png", "s1", str(tmp_path)).getpixel((0, 0)) == colour(1)
    assert decode_image(str(tmp_path / "a.png"), "s1").mode == "RGB"
    grey = PILImage.new("L", (3, 3), 9)
    buf = io.BytesIO()
    grey.save(buf, format="PNG")
    assert decode_image({"bytes": buf.getvalue(), "path": None}, "g").mode == "RGB"
    assert decode_image(grey, "g").getpixel((0, 0)) == (9, 9, 9)
    noise = PILImage.effect_noise((64, 64), 50).convert("RGB")
    buf = io.BytesIO()
    noise.save(buf, format="PNG")
    truncated = buf.getvalue()[: len(buf.getvalue()) // 2]
    with pytest.raises(SampleError, match=r"^sample t: unreadable image \("):
        decode_image({"bytes": truncated, "path": None}, "t")
    with pytest.raises(SampleError, match=r"sample m: unreadable image \(no file .*image_root"):
        decode_image("missing.jpg", "m", str(tmp_path))
    with pytest.raises(SampleError, match=r"sample n: unreadable image \(no image data"):
        decode_image(None, "n")


def test_coco_urls_offline_ask_for_a_local_folder(tmp_path: Path) -> None:
    root = write_parquet(CASES["phiyodr-coco2017"].build(), tmp_path / "p", "validation")
    ds = load_task_dataset(f"{root}@validation", "caption")
    row = ds.dataset[0]
    assert row["image"].startswith("http://images.cocodataset.org/")
    with pytest.raises(SampleError, match=r"sample 397133: .*local COCO folder via image_root"):
        decode_image(row["image"], row["sample_id"], ds.image_root)


@pytest.mark.parametrize(
    "spec", ["lmms-lab/textvqa", "lmms-lab/textvqa@validation", "org/name:config@split"]
)
def test_hub_id_offline_fails_fast_with_local_copy_hint(spec: str) -> None:
    start = time.perf_counter()
    with pytest.raises(VlmqError) as err:
        load_task_dataset(spec, "vqa")
    assert time.perf_counter() - start < 5
    message = str(err.value)
    assert "\n" not in message
    assert "offline" in message.lower() or "HF_HUB_OFFLINE" in message
    assert "save_to_disk(DIR)" in message and "give DIR as the dataset" in message


def test_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.delenv("HF_DATASETS_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    start = time.perf_counter()
    with pytest.raises(VlmqError, match=r"hub is unreachable; .*save_to_disk"):
        load_task_dataset("lmms-lab/textvqa@validation", "vqa")
    assert time.perf_counter() - start < 5


def test_bad_specs(tmp_path: Path) -> None:
    with pytest.raises(VlmqError, match="not an embedded set"):
        load_task_dataset("no-such-set", "vqa")
    with pytest.raises(VlmqError, match="not a hub id"):
        load_task_dataset("./nowhere/at all", "vqa")
    (tmp_path / "x.csv").write_text("a\n1\n")
    with pytest.raises(VlmqError, match=r"must be \.parquet"):
        load_task_dataset(str(tmp_path / "x.csv"), "vqa")
    with pytest.raises(VlmqError, match="image_root .* is not a folder"):
        load_task_dataset(str(tmp_path / "x.csv"), "vqa", image_root=str(tmp_path / "none"))


def _loaded(tmp_path: Path, rows: int) -> TaskDataset:
    data = Dataset.from_dict(
        {"image": [f"{i}.png" for i in range(rows)], "label": [i % 5 for i in range(rows)]}
    )
    return load_task_dataset(str(write_saved(data, tmp_path / "n", "test")), "classify")


def test_select_subset_is_seeded_and_nested(tmp_path: Path) -> None:
    ds = _loaded(tmp_path, 50)
    sub, idx = select_subset(ds, 10, seed=0)
    assert len(idx) == 10 and idx == sorted(idx) and len(set(idx)) == 10
    assert sub.dataset["sample_id"] == [str(i) for i in idx]
    assert select_subset(ds, 10, seed=0)[1] == idx  # same for every variant
    assert select_subset(ds, 10, seed=1)[1] != idx  # but seed-dependent
    assert set(idx) <= set(select_subset(ds, 20, seed=0)[1])  # larger n extends smaller
    for everything in (None, 0, 50, 80):
        sub, all_idx = select_subset(ds, everything, seed=3)
        assert all_idx == list(range(50)) and len(sub) == 50
    with pytest.raises(VlmqError, match=">= 0"):
        select_subset(ds, -1, seed=0)


EMBEDDED_KINDS = {
    "coco-scenes": ("caption", "lmms-lab/COCO-Caption2017"),
    "text-signs": ("vqa", "lmms-lab/textvqa"),
    "easy-vqa": ("vqa", "vqav2"),
    "fashion-mnist": ("classify", "image-label"),
}


@pytest.mark.parametrize("name", list(EMBEDDED_KINDS))
def test_embedded_sets_load_through_the_same_loader(name: str,
                                                   request: pytest.FixtureRequest) -> None:
    embedded = pytest.importorskip(
        "vlmq.data.embedded", reason="the embedded sets (brief A) are not in this tree yet"
    )
    if name not in embedded.EMBEDDED:
        pytest.skip(f"embedded set {name!r} is not registered yet")
    if name == "fashion-mnist":
        request.getfixturevalue("fashion_mnist")
    kind, layout = EMBEDDED_KINDS[name]
    ds = load_task_dataset(f"embedded:{name}@validation", kind)
    assert ds.layout == layout and ds.source == f"embedded:{name}"
    assert [c for c in ds.dataset.column_names if c != "group"] == CANONICAL[kind]
    sub, _ = select_subset(ds, 3, seed=0)
    for row in sub.dataset:
        assert decode_image(row["image"], row["sample_id"]).mode == "RGB"
    if kind == "classify":
        assert ds.label_names is not None and len(ds.label_names) == 10
    assert load_task_dataset(name, kind, split="validation").layout == layout



def test_selected_source_rows_keep_their_images_and_write_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded = pytest.importorskip(
        "vlmq.data.embedded", reason="the embedded sets (brief A) are not in this tree yet"
    )
    folder = write_saved(CASES["easy-vqa"].build(), tmp_path / "src", "test") / "test"
    before = sorted(p.name for p in folder.iterdir())
    # A loader may hand back a reordered selection of a table on disk (a carved-out split).
    picked = load_from_disk(str(folder)).select([3, 0, 2])
    monkeypatch.setattr(embedded, "load_embedded", lambda name, split, rows=None: picked)
    ds = load_task_dataset("embedded:easy-vqa", "vqa")
    assert ds.dataset["sample_id"] == ["503", "500", "502"]
    rows = [_row_of(decode_image(r["image"], r["sample_id"])) for r in ds.dataset]
    assert rows == [3, 0, 2]
    assert sorted(p.name for p in folder.iterdir()) == before
