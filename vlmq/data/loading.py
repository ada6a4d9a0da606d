"""Load a task's dataset from any supported source into the task kind's canonical layout.

A dataset spec is one of:

- an embedded set: "coco-scenes" or "embedded:coco-scenes";
- a hub id with optional config and split: "lmms-lab/textvqa", "lmms-lab/textvqa@validation",
  "org/name:config@split";
- a local parquet file, a folder of parquet files (split names from the file names, as on the
  hub: "data/test-00000-of-00001.parquet"; a folder without them holds one "train" split), an
  imagefolder (images with metadata.jsonl/metadata.csv, or one folder per class), or a
  `save_to_disk` folder (a DatasetDict or a Dataset).

"@split" in the spec wins over the `split` argument. A source that holds one table with no
split names (a single parquet file, a saved Dataset) is used whatever split is asked.
Everything goes through `datasets`; nothing here touches the network unless the hub is asked
for and reachable.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import datasets
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, List, Value

from vlmq.data.images import hub_offline
from vlmq.data.layouts import MAX_ANSWERS, Layout, check_kind, find_layout
from vlmq.errors import VlmqError

EMBEDDED_PREFIX = "embedded:"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(:[\w.-]+)?$")


@dataclass
class TaskDataset:
    """A dataset in its task kind's canonical layout, with where it came from."""

    dataset: Dataset
    source: str  # "embedded:<name>", "hub:<id>[:config]" or an absolute local path
    layout: str  # the name of the source layout it was read as
    split: str
    label_names: list[str] | None  # classify: class names by label index; else None
    image_root: str | None  # where relative image paths are read from

    def __len__(self) -> int:
        return len(self.dataset)

    def groups(self) -> dict[int, str] | None:
        """{position: group} where the layout declares what samples share (easy-vqa's and
        VQAv2's image_id); None otherwise. For `vlmq.stats.retention.result_gates(clusters=)`."""
        if "group" not in self.dataset.column_names:
            return None
        return dict(enumerate(self.dataset["group"]))


def load_task_dataset(
    spec: str, kind: str, split: str = "test", image_root: str | None = None,
    rows: int | None = None,
) -> TaskDataset:
    """Read `spec` (see the module docstring) as a `kind` task's canonical dataset; `rows`: only
    the split's first rows (an embedded set then builds no more than those)."""
    check_kind(kind)
    spec = spec.strip()
    if not spec:
        raise VlmqError("empty dataset spec: give an embedded name, a hub id or a local path")
    if image_root is not None:
        if not Path(image_root).is_dir():
            raise VlmqError(f"image_root {image_root!r} is not a folder: give the images' folder")
        image_root = str(Path(image_root).resolve())
    raw, source, hub_id, split = _load_raw(spec, split, rows)
    if rows is not None:
        raw = raw.select(range(min(rows, len(raw))))
    layout = find_layout(raw.column_names, kind, hub_id)
    dataset, label_names = _to_canonical(raw, layout, image_root, source)
    return TaskDataset(dataset, source, layout.name, split, label_names, image_root)


def select_subset(ds: TaskDataset, n: int | None, seed: int) -> tuple[TaskDataset, list[int]]:
    """A seeded subset of `n` samples and their indices in `ds`, in dataset order.

    None, 0 or n >= len(ds) keep everything in order. The subset depends only on (len, n,
    seed), so every variant sees the same samples, and a smaller n gives a subset of a larger
    one with the same seed.
    """
    total = len(ds.dataset)
    if n is not None and n < 0:
        raise VlmqError(f"sample count must be >= 0 (0 = all), got {n}")
    if not n or n >= total:
        indices = list(range(total))
    else:
        order = list(range(total))
        random.Random(seed).shuffle(order)
        indices = sorted(order[:n])
    return replace(ds, dataset=ds.dataset.select(indices)), indices


# --- sources ---------------------------------------------------------------------------------


def _load_raw(spec: str, split: str, rows: int | None = None) -> tuple[Dataset, str, str, str]:
    """(dataset of the split, source label, hub id or "", split actually used)."""
    if spec.startswith(EMBEDDED_PREFIX):
        name, split = _split_suffix(spec[len(EMBEDDED_PREFIX):], split)
        return _load_embedded(name, split, rows), EMBEDDED_PREFIX + name, "", split
    if Path(spec).exists():
        return _load_local(Path(spec), split)
    base, split = _split_suffix(spec, split)
    if Path(base).exists():
        return _load_local(Path(base), split)
    if "/" not in base and ":" not in base:
        return _load_embedded(base, split, rows), EMBEDDED_PREFIX + base, "", split
    if _HUB_ID.match(base) and not base.startswith((".", "/", "~")):
        repo, _, config = base.partition(":")
        source = f"hub:{base}"
        return _load_hub(repo, config or None, split), source, repo, split
    raise VlmqError(
        f"dataset {spec!r}: no such file or folder, and not a hub id (org/name[:config][@split])"
    )


def _split_suffix(spec: str, split: str) -> tuple[str, str]:
    base, sep, tail = spec.rpartition("@")
    if sep and base and tail and "/" not in tail:
        return base, tail
    return spec, split


def _load_embedded(name: str, split: str, rows: int | None = None) -> Dataset:
    known = _embedded_names()
    if name not in known:
        raise VlmqError(
            f"dataset {name!r} is not an embedded set (known: {', '.join(known) or 'none'}), an "
            "existing path or a hub id (org/name[:config][@split])"
        )
    from vlmq.data.embedded import load_embedded

    return load_embedded(name, split, rows)


def _embedded_names() -> list[str]:
    try:
        from vlmq.data.embedded import EMBEDDED
    except ImportError:  # the embedded sets are an optional part of an install
        return []
    return sorted(EMBEDDED)


def _load_local(path: Path, split: str) -> tuple[Dataset, str, str, str]:
    path = path.resolve()
    source = str(path)
    try:
        if path.is_file():
            if path.suffix != ".parquet":
                raise VlmqError(f"{source}: a dataset file must be .parquet (or give a folder)")
            # One file is one table: it is the split asked for.
            table = datasets.load_dataset("parquet", data_files=str(path), split="train")
            return table, source, "", split
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            loaded = datasets.load_from_disk(str(path))
        else:
            # A folder of parquet files or an imagefolder: `datasets` picks the builder and the
            # split names from the files it finds.
            loaded = datasets.load_dataset(str(path))
    except VlmqError:
        raise
    except Exception as exc:  # datasets raises many types for unreadable folders
        raise VlmqError(f"{source}: cannot read it as a dataset ({_one_line(exc)})") from exc
    if isinstance(loaded, Dataset):
        return loaded, source, "", split
    return _pick_split(loaded, split, source), source, "", split


def _pick_split(loaded: DatasetDict, split: str, source: str) -> Dataset:
    if split not in loaded:
        available = ", ".join(loaded) or "none"
        raise VlmqError(
            f"{source}: no split {split!r}; available: {available} (add @<split> to the spec)"
        )
    return loaded[split]


def _load_hub(repo: str, config: str | None, split: str) -> Dataset:
    target = repo + (f", {config!r}" if config else "")
    hint = (
        f"on a machine with the hub run datasets.load_dataset({repo!r}"
        f"{', ' + repr(config) if config else ''}).save_to_disk(DIR) (or copy its parquet "
        "files into DIR) and give DIR as the dataset"
    )
    if hub_offline() and not _in_hub_cache(repo):
        raise VlmqError(
            f"cannot load {target}: no such local path, and the Hugging Face hub is off "
            f"(HF_HUB_OFFLINE/HF_DATASETS_OFFLINE) with no cached copy; {hint}"
        )
    if not hub_offline() and not _hub_reachable():
        raise VlmqError(
            f"cannot load {target}: no such local path, and the Hugging Face hub is unreachable; "
            f"{hint}"
        )
    try:
        return datasets.load_dataset(repo, config, split=split)
    except ConnectionError as exc:
        raise VlmqError(f"cannot load {target} from the Hugging Face hub ({exc}); {hint}") from exc
    except ValueError as exc:
        if "split" in str(exc).lower():
            raise VlmqError(f"hub:{repo}: no split {split!r} ({_one_line(exc)})") from exc
        raise VlmqError(f"hub:{repo}: {_one_line(exc)}") from exc
    except FileNotFoundError as exc:
        raise VlmqError(f"hub:{repo}: not found ({_one_line(exc)})") from exc


def _in_hub_cache(repo: str) -> bool:
    # Offline, `datasets` can still serve a copy cached earlier; without one it would fail
    # anyway, so look for one first and fail at once when there is none.
    from huggingface_hub.constants import HF_HUB_CACHE

    hub = Path(HF_HUB_CACHE) / ("datasets--" + repo.replace("/", "--"))
    flat = repo.replace("/", "___")
    return hub.is_dir() or any(Path(datasets.config.HF_DATASETS_CACHE).glob(flat + "*"))


def _hub_reachable(timeout: float = 3.0) -> bool:
    # A plain TCP connect answers in milliseconds or the timeout, where `datasets` would retry
    # for ~25 s before failing.
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


# --- canonical layout ------------------------------------------------------------------------


def _to_canonical(
    raw: Dataset, layout: Layout, image_root: str | None, source: str
) -> tuple[Dataset, list[str] | None]:
    """Map `raw` onto the canonical columns; the image column is carried over undecoded."""
    image_col = layout.image_column
    has_image = image_col in raw.column_names
    rest = raw.remove_columns([image_col]) if has_image else raw
    label_names: list[str] | None = None
    label_feature: Any = Value("int64")
    if layout.kind == "classify":
        label_feature, label_names = _label_feature(rest, layout.columns["label"], source)

    label_index = {name: i for i, name in enumerate(label_names or [])}

    def convert(row: dict[str, Any], idx: int) -> dict[str, Any]:
        out = {canon: row[col] for canon, col in layout.columns.items() if col in row}
        if layout.transform is not None:
            out.update(layout.transform(row, image_root))
        if has_image:
            out.pop("image", None)
        out["sample_id"] = str(idx) if out.get("sample_id") is None else str(out["sample_id"])
        if isinstance(out.get("label"), str):
            out["label"] = label_index[out["label"]]
        return _NORMALISE[layout.kind](out)

    features = _features(layout.kind, label_feature)
    if not has_image:
        features["image"] = Value("string")
    # Only the small text columns are rewritten, in memory: the images are never copied and
    # nothing is written next to the user's files.
    with _quiet_datasets():  # a sub-second map: its bar is noise between benchmark lines
        canon = rest.map(
            convert,
            with_indices=True,
            remove_columns=rest.column_names,
            features=features,
            keep_in_memory=True,
        )
    _check_unique(canon["sample_id"], source)
    if layout.group and layout.group in rest.column_names:
        canon = canon.add_column("group", [str(v) for v in rest[layout.group]])
    if has_image:
        images = raw.select_columns([image_col])
        if isinstance(images.features[image_col], (Image, dict)):
            images = images.cast_column(image_col, Image(decode=False))
        if image_col != "image":
            images = images.rename_column(image_col, "image")
        if raw._indices is not None:
            # A selected/shuffled dataset would otherwise be flattened into a cache file next to
            # its source; keep that copy (of the selected rows only) in memory instead.
            images = images.flatten_indices(keep_in_memory=True)
        canon = datasets.concatenate_datasets([canon, images], axis=1)
    order = ["sample_id", "image"]
    order += [c for c in canon.column_names if c not in order]
    return canon.select_columns(order), label_names


def _features(kind: str, label_feature: Any) -> Features:
    text_list = List(Value("string"))
    if kind == "caption":
        return Features({"sample_id": Value("string"), "references": text_list})
    if kind == "vqa":
        return Features({
            "sample_id": Value("string"),
            "question": Value("string"),
            "answers": text_list,
            "ocr_tokens": text_list,
        })
    return Features({"sample_id": Value("string"), "label": label_feature})


def _label_feature(rest: Dataset, column: str, source: str) -> tuple[Any, list[str] | None]:
    """The canonical label feature and class names.

    A ClassLabel gives its names; a column of strings becomes a ClassLabel over its sorted
    distinct values; plain integers have no names here (a model's id2label can name them).
    """
    feature = rest.features[column]
    if isinstance(feature, ClassLabel):
        return feature, list(feature.names)
    if isinstance(feature, Value) and feature.dtype in ("string", "large_string"):
        names = sorted({str(v) for v in rest[column] if v is not None})
        return ClassLabel(names=names), names
    if isinstance(feature, Value) and feature.dtype.startswith(("int", "uint")):
        return Value("int64"), None
    raise VlmqError(f"{source}: label column {column!r} is {feature}; expected integers or strings")


def _norm_caption(row: dict[str, Any]) -> dict[str, Any]:
    refs = row.get("references")
    refs = [refs] if isinstance(refs, str) else [str(r) for r in refs or [] if r is not None]
    if not refs:
        raise VlmqError(f"sample {row['sample_id']}: no reference captions in the dataset")
    row["references"] = refs
    return row


def _norm_vqa(row: dict[str, Any]) -> dict[str, Any]:
    # VQAv2 on the hub stores answers as {"answer", "answer_confidence", "answer_id"} dicts.
    answers = [a.get("answer") if isinstance(a, dict) else a for a in row.get("answers") or []]
    answers = [str(a) for a in answers if a is not None]
    if not answers:
        raise VlmqError(
            f"sample {row['sample_id']}: no answers (a test split with hidden answers?); "
            "use a split that has them, e.g. @validation"
        )
    if len(answers) > MAX_ANSWERS:
        raise VlmqError(
            f"sample {row['sample_id']}: {len(answers)} answers; VQA accuracy takes at most "
            f"{MAX_ANSWERS}"
        )
    row["answers"] = answers
    row["question"] = str(row.get("question") or "")
    row["ocr_tokens"] = [str(t) for t in row.get("ocr_tokens") or []]
    return row


def _norm_classify(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("label") is None:
        raise VlmqError(f"sample {row['sample_id']}: no label")
    return row


_NORMALISE = {"caption": _norm_caption, "vqa": _norm_vqa, "classify": _norm_classify}


def _check_unique(sample_ids: Any, source: str) -> None:
    seen: set[str] = set()
    for sid in sample_ids:
        if sid in seen:
            raise VlmqError(
                f"{source}: sample id {sid!r} appears twice; sample ids must be unique"
            )
        seen.add(sid)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    from datasets.utils import logging as ds_logging

    was_on = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            ds_logging.enable_progress_bar()
