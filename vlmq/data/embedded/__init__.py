"""Embedded datasets: generated or packaged sets in the column layouts of the real ones.

`load_embedded(name, split)` builds a split once, deterministically, and caches it with
`save_to_disk` under `~/.cache/vlmq/embedded/<name>/<version>/<split>` (or `$VLMQ_CACHE_DIR`);
bumping a set's version invalidates its cache. `load_embedded(name, split, rows=n)` builds only
the split's first n rows (calibration draws from a train split far larger than it needs).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vlmq.cachedir import cache_home
from vlmq.errors import VlmqError
from vlmq.registry import Registry

if TYPE_CHECKING:
    import datasets

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class EmbeddedSet:
    """One embedded dataset: how to build a split, and the real set whose layout it copies."""

    name: str
    version: str
    layout: str  # the hub dataset whose columns it reproduces
    description: str
    build: Callable[..., datasets.Dataset]  # build(split, n=None): the split or its first n rows


# Filled from the `vlmq.datasets` entry points (vlmq's own sets: `vlmq.data.embedded.shipped`).
EMBEDDED: Registry[EmbeddedSet] = Registry("embedded dataset", group="vlmq.datasets")


def cache_root() -> Path:
    return cache_home() / "embedded"


def load_embedded(name: str, split: str, rows: int | None = None) -> datasets.Dataset:
    """One split of an embedded dataset (or its first `rows` rows), built on first use and then
    read from the cache."""
    import datasets

    spec = EMBEDDED.get(name)
    if split not in SPLITS:
        raise VlmqError(f"unknown split {split!r} for {name!r}: use one of {', '.join(SPLITS)}")
    path = cache_root() / name / spec.version / split
    if rows is not None and not path.exists():
        path = path.with_name(f"{split}-first{rows}")
    if path.exists():
        ds = datasets.load_from_disk(str(path))
        return ds.select(range(min(rows, len(ds)))) if rows is not None else ds
    ds = spec.build(split) if rows is None else spec.build(split, rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Save beside the target and rename, so that a concurrent reader never sees half a split.
    tmp = Path(tempfile.mkdtemp(prefix=f".{split}-", dir=path.parent))
    ds.save_to_disk(str(tmp))
    try:
        tmp.rename(path)
    except OSError:  # another process finished first: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)
    return datasets.load_from_disk(str(path))
