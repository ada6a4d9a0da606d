"""Known dataset layouts and their mapping onto the canonical layout each task kind reads.

Canonical layouts (the `image` column stays undecoded, see `vlmq.data.images`):

- caption:  sample_id (str), image, references (list[str])
- vqa:      sample_id (str), image, question (str), answers (list[str], 1..10),
            ocr_tokens (list[str], may be empty)
- classify: sample_id (str), image, label (int)

A layout is recognised by its columns (the first layout of the kind whose `required` columns
are all present wins, so specific layouts come before general ones), or by the hub id it is
known under.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vlmq.errors import VlmqError

KINDS = ("caption", "vqa", "classify")
MAX_ANSWERS = 10  # VQA accuracy is defined over (at most) ten human answers


@dataclass(frozen=True)
class Layout:
    """One source layout: how to recognise it and how its rows map onto the canonical fields."""

    name: str
    kind: str
    required: tuple[str, ...]  # recognised when every one of these columns is present
    columns: Mapping[str, str]  # canonical field -> source column, copied when present
    # Extra canonical fields computed from a whole source row (and the image root).
    transform: Callable[[dict[str, Any], str | None], dict[str, Any]] | None = None
    sources: tuple[str, ...] = ()  # hub ids known to use this layout
    note: str = ""
    image_column: str = "image"  # kept undecoded when present
    # the source column naming what samples share (the image of several questions): copied to
    # the canonical `group` column, so retention intervals can resample whole groups
    group: str = ""

    def missing(self, column_names: list[str]) -> list[str]:
        return [c for c in self.required if c not in column_names]


def _coco2017_image(row: dict[str, Any], image_root: str | None) -> dict[str, Any]:
    # phiyodr/coco2017 holds no pixels: read `file_name` from a local COCO folder when one is
    # given, otherwise keep the URL (which `decode_image` refuses offline with a hint).
    if image_root is not None and row.get("file_name"):
        return {"image": row["file_name"]}
    return {"image": row["coco_url"]}


LAYOUTS: tuple[Layout, ...] = (
    Layout(
        name="lmms-lab/COCO-Caption2017",
        kind="caption",
        required=("image", "question_id", "answer"),
        columns={"sample_id": "question_id", "references": "answer"},
        sources=("lmms-lab/COCO-Caption2017",),
        note="question_id is the image file name, answer the list of reference captions",
    ),
    Layout(
        name="phiyodr/coco2017",
        kind="caption",
        required=("image_id", "captions", "coco_url"),
        columns={"sample_id": "image_id", "references": "captions"},
        transform=_coco2017_image,
        sources=("phiyodr/coco2017",),
        note="no pixels: images come from a local COCO folder (image_root + file_name), "
        "an imagefolder copy's image column, or coco_url when online",
    ),
    Layout(
        name="caption-canonical",
        kind="caption",
        required=("image", "references"),
        columns={"sample_id": "sample_id", "references": "references"},
    ),
    Layout(
        name="lmms-lab/textvqa",
        kind="vqa",
        required=("image", "question_id", "question", "answers", "ocr_tokens"),
        columns={
            "sample_id": "question_id",
            "question": "question",
            "answers": "answers",
            "ocr_tokens": "ocr_tokens",
        },
        sources=("lmms-lab/textvqa",),
    ),
    Layout(
        name="vqav2",
        kind="vqa",
        required=("image", "question_id", "question", "answers"),
        columns={"sample_id": "question_id", "question": "question", "answers": "answers"},
        note="VQAv2-like (easy-vqa too); answers may be strings or {'answer': ...} dicts",
        group="image_id",
    ),
    Layout(
        name="vqa-canonical",
        kind="vqa",
        required=("image", "question", "answers"),
        columns={
            "sample_id": "sample_id",
            "question": "question",
            "answers": "answers",
            "ocr_tokens": "ocr_tokens",
        },
    ),
    Layout(
        name="classify-canonical",
        kind="classify",
        required=("sample_id", "image", "label"),
        columns={"sample_id": "sample_id", "label": "label"},
    ),
    Layout(
        name="image-label",
        kind="classify",
        required=("image", "label"),
        columns={"label": "label"},
        note="generic image/label data (Fashion-MNIST, imagefolder class folders); "
        "sample_id is the row index",
    ),
    Layout(
        name="flowers102",
        kind="classify",
        required=("image", "label"),
        columns={"label": "label"},
        sources=("dpdl-benchmark/oxford_flowers102", "nelorth/oxford-flowers"),
        note="nelorth/oxford-flowers names its classes '1', '10', '100', ... (lexicographic "
        "order, not flower names); they are kept as the dataset gives them",
    ),
)


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise VlmqError(f"unknown task kind {kind!r}: use one of {', '.join(KINDS)}")
    return kind


def find_layout(column_names: list[str], kind: str, source: str = "") -> Layout:
    """The layout of a dataset with these columns, for a task of this kind.

    A hub id listed in a layout's `sources` picks that layout when its columns are present;
    otherwise the first layout of the kind whose required columns are all present wins (so a
    layout placed after a general one with the same columns, Flowers-102 after image/label, is
    chosen only by its hub id).
    """
    candidates = [lay for lay in LAYOUTS if lay.kind == check_kind(kind)]
    for lay in candidates:
        if source in lay.sources and not lay.missing(column_names):
            return lay
    for lay in candidates:
        if not lay.missing(column_names):
            return lay
    closest = min(candidates, key=lambda lay: len(lay.missing(column_names)))
    missing = ", ".join(closest.missing(column_names))
    raise VlmqError(
        f"{source or 'dataset'}: its columns ({', '.join(column_names)}) match no {kind} layout; "
        f"closest is {closest.name!r}, which needs the missing column(s): {missing}"
    )

