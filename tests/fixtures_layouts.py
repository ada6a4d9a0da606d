"""Small local copies of each real dataset layout, written in each storage form.

Every copy has exactly the columns (and column types) of the real dataset it stands for, a few
rows, and tiny one-colour PNGs whose colour encodes the row, so a test can check that each
sample kept its own image through loading.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, List, Value
from PIL import Image as PILImage

ROWS = 4
FLOWER_NAMES = ["pink primrose", "hard-leaved pocket orchid", "canterbury bells"]
NELORTH_NAMES = ["1", "10", "100"]  # lexicographic strings, as nelorth/oxford-flowers has them


def colour(i: int) -> tuple[int, int, int]:
    return (40 * i + 10, 200 - 30 * i, 77)


def png(i: int, size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", size, colour(i)).save(buf, format="PNG")
    return buf.getvalue()


@dataclass(frozen=True)
class LayoutCase:
    """One real layout: how to build it and what the canonical rows must hold."""

    name: str  # the layout name the loader must report for a local copy
    kind: str
    build: Callable[[], Dataset]
    expected: Callable[[int], dict[str, Any]]  # canonical fields of row i (image excluded)
    label_names: list[str] | None = None
    has_pixels: bool = True  # False: the images live in a separate local COCO folder


def _textvqa() -> Dataset:
    features = Features({
        "image_id": Value("string"),
        "question_id": Value("int32"),
        "question": Value("string"),
        "question_tokens": List(Value("string")),
        "image": Image(),
        "image_width": Value("int32"),
        "image_height": Value("int32"),
        "flickr_original_url": Value("string"),
        "flickr_300k_url": Value("string"),
        "answers": List(Value("string")),
        "image_classes": List(Value("string")),
        "set_name": Value("string"),
        "ocr_tokens": List(Value("string")),
    })
    rows = [
        {
            "image_id": f"{i:016x}",
            "question_id": 34602 + i,
            "question": f"what does sign {i} say?",
            "question_tokens": ["what", "does", "sign", str(i), "say"],
            "image": {"bytes": png(i), "path": None},
            "image_width": 8,
            "image_height": 6,
            "flickr_original_url": f"https://farm.example/{i}_o.jpg",
            "flickr_300k_url": f"https://farm.example/{i}_z.jpg",
            "answers": [f"word{i}"] * 9 + ["Word."],
            "image_classes": ["Sign"],
            "set_name": "val",
            "ocr_tokens": [f"word{i}", "exit"] if i % 2 else [],
        }
        for i in range(ROWS)
    ]
    return Dataset.from_list(rows, features=features)


def _textvqa_expected(i: int) -> dict[str, Any]:
    return {
        "sample_id": str(34602 + i),
        "question": f"what does sign {i} say?",
        "answers": [f"word{i}"] * 9 + ["Word."],
        "ocr_tokens": [f"word{i}", "exit"] if i % 2 else [],
    }


def _coco_file(i: int) -> str:
    return f"{397133 + i:012d}.jpg"


def _coco_caption2017() -> Dataset:
    features = Features({
        "question_id": Value("string"),
        "image": Image(),
        "question": Value("string"),
        "answer": List(Value("string")),
        "id": Value("int64"),
    })
    rows = [
        {
            "question_id": _coco_file(i),
            "image": {"bytes": png(i), "path": None},
            "question": "Provide a one-sentence caption for the provided image.",
            "answer": [f"a picture number {i}", f"scene {i} in colour", "an image"],
            "id": 100 + i,
        }
        for i in range(ROWS)
    ]
    return Dataset.from_list(rows, features=features)


def _coco_caption2017_expected(i: int) -> dict[str, Any]:
    return {
        "sample_id": _coco_file(i),
        "references": [f"a picture number {i}", f"scene {i} in colour", "an image"],
    }


def _phiyodr() -> Dataset:
    features = Features({
        "license": Value("int64"),
        "file_name": Value("string"),
        "coco_url": Value("string"),
        "height": Value("int64"),
        "width": Value("int64"),
        "date_captured": Value("string"),
        "flickr_url": Value("string"),
        "image_id": Value("int64"),
        "ids": List(Value("int64")),
        "captions": List(Value("string")),
    })
    rows = [
        {
            "license": 4,
            "file_name": _coco_file(i),
            "coco_url": f"http://images.cocodataset.org/val2017/{_coco_file(i)}",
            "height": 6,
            "width": 8,
            "date_captured": "2013-11-14 17:02:52",
            "flickr_url": f"http://farm.example/{i}.jpg",
            "image_id": 397133 + i,
            "ids": [7000 + 2 * i, 7001 + 2 * i],
            "captions": [f"a coco photo {i}", f"photo {i} of things"],
        }
        for i in range(ROWS)
    ]
    return Dataset.from_list(rows, features=features)


def _phiyodr_expected(i: int) -> dict[str, Any]:
    refs = [f"a coco photo {i}", f"photo {i} of things"]
    return {"sample_id": str(397133 + i), "references": refs}


def write_coco_folder(root: Path) -> Path:
    """A local COCO image folder (val2017-like) holding the phiyodr rows' files."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(ROWS):
        (root / _coco_file(i)).write_bytes(png(i))
    return root


def _easy_vqa() -> Dataset:
    features = Features({
        "question_id": Value("int64"),
        "image_id": Value("int64"),
        "image": Image(),
        "question": Value("string"),
        "answers": List(Value("string")),
        "answer_type": Value("string"),
    })
    rows = [
        {
            "question_id": 500 + i,
            "image_id": i // 2,
            "image": {"bytes": png(i), "path": None},
            "question": f"what shape is in image {i}?",
            "answers": ["circle" if i % 2 else "yes"],
            "answer_type": "other" if i % 2 else "yes/no",
        }
        for i in range(ROWS)
    ]
    return Dataset.from_list(rows, features=features)


def _easy_vqa_expected(i: int) -> dict[str, Any]:
    return {
        "sample_id": str(500 + i),
        "question": f"what shape is in image {i}?",
        "answers": ["circle" if i % 2 else "yes"],
        "ocr_tokens": [],
        "group": str(i // 2),  # the image the question is about (the layout's group)
    }


def _image_label(names: list[str]) -> Callable[[], Dataset]:
    def build() -> Dataset:
        features = Features({"image": Image(), "label": ClassLabel(names=names)})
        rows = [{"image": {"bytes": png(i), "path": None}, "label": i % 3} for i in range(ROWS)]
        return Dataset.from_list(rows, features=features)

    return build


def _label_expected(i: int) -> dict[str, Any]:
    return {"sample_id": str(i), "label": i % 3}


CASES: dict[str, LayoutCase] = {
    "textvqa": LayoutCase("lmms-lab/textvqa", "vqa", _textvqa, _textvqa_expected),
    "coco-caption2017": LayoutCase(
        "lmms-lab/COCO-Caption2017", "caption", _coco_caption2017, _coco_caption2017_expected
    ),
    "phiyodr-coco2017": LayoutCase(
        "phiyodr/coco2017", "caption", _phiyodr, _phiyodr_expected, has_pixels=False
    ),
    "easy-vqa": LayoutCase("vqav2", "vqa", _easy_vqa, _easy_vqa_expected),
    "flowers102-dpdl": LayoutCase(
        "image-label", "classify", _image_label(FLOWER_NAMES), _label_expected, FLOWER_NAMES
    ),
    "flowers-nelorth": LayoutCase(
        "image-label", "classify", _image_label(NELORTH_NAMES), _label_expected, NELORTH_NAMES
    ),
}


# --- storage forms ---------------------------------------------------------------------------


def write_parquet(ds: Dataset, root: Path, split: str) -> Path:
    """A hub-style parquet folder: root/data/<split>-00000-of-00001.parquet."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    ds.to_parquet(str(root / "data" / f"{split}-00000-of-00001.parquet"))
    return root


def write_saved(ds: Dataset, root: Path, split: str) -> Path:
    """A save_to_disk folder holding a DatasetDict with one split."""
    DatasetDict({split: ds}).save_to_disk(str(root))
    return root


def write_imagefolder(ds: Dataset, root: Path, split: str) -> Path:
    """An imagefolder: root/<split>/ with the images and a metadata.jsonl of the other columns.

    Image/label data is written as one folder per class instead, as image classification
    folders usually are. Data without pixels (phiyodr) gets the COCO files as its images.
    """
    folder = root / split
    folder.mkdir(parents=True, exist_ok=True)
    label = ds.features.get("label")
    if isinstance(label, ClassLabel) and set(ds.column_names) == {"image", "label"}:
        for i, row in enumerate(ds.cast_column("image", Image(decode=False))):
            class_dir = folder / label.names[row["label"]]
            class_dir.mkdir(exist_ok=True)
            (class_dir / f"{i}.png").write_bytes(row["image"]["bytes"])
        return root
    lines = []
    plain = ds.remove_columns([c for c in ("image",) if c in ds.column_names])
    for i, row in enumerate(plain):
        name = row.get("file_name", f"{i}.png")
        (folder / name).write_bytes(png(i))
        lines.append(json.dumps({**row, "file_name": name}))
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    return root


FORMS: dict[str, Callable[[Dataset, Path, str], Path]] = {
    "parquet": write_parquet,
    "imagefolder": write_imagefolder,
    "save_to_disk": write_saved,
}
