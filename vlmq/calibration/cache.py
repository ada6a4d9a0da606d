"""The calibrated-checkpoint cache: one folder per (model content, recipe, calibration ids,
library versions), so that a second run loads what the first one calibrated.

A folder holds the checkpoint as the recipe exported it plus `vlmq-calibration.json` (the key's
parts and the calibration time); it is written beside its final name and renamed into place,
so a reader never sees half a checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from vlmq.cachedir import cache_home

META_FILE = "vlmq-calibration.json"
# what a model's content is: its weights and the config that gives them meaning
_CONTENT_SUFFIXES = (".safetensors", ".bin", ".json")
_CHUNK = 1 << 24


def library_versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Installed versions of `packages` ("absent" for one not installed)."""
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def local_folder(source: str) -> Path:
    folder = Path(source)
    if folder.is_dir():
        return folder
    from huggingface_hub import snapshot_download  # a hub id already in the local cache

    return Path(snapshot_download(source, local_files_only=True))


def content_hash(source: str) -> str:
    """sha256 over the model folder's weight and config files (names and bytes); memoized by
    (path, size, mtime) so that a 14 GB model is read once."""
    folder = local_folder(source)
    files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix in _CONTENT_SUFFIXES)
    stamp = "|".join(f"{f.resolve()}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
    memo_file = cache_home() / "calibrated" / "content-hashes.json"
    memo = json.loads(memo_file.read_text()) if memo_file.is_file() else {}
    if stamp in memo:
        return memo[stamp]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode())
        with f.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    memo[stamp] = digest.hexdigest()
    memo_file.parent.mkdir(parents=True, exist_ok=True)
    memo_file.write_text(json.dumps(memo, indent=1))
    return memo[stamp]


@dataclass(frozen=True)
class CacheKey:
    model_hash: str
    recipe: dict[str, Any]
    calibration_ids: tuple[str, ...]
    versions: dict[str, str]

    def digest(self) -> str:
        text = json.dumps({"model": self.model_hash, "recipe": self.recipe,
                           "calibration_ids": list(self.calibration_ids),
                           "versions": self.versions}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def folder(self, recipe_name: str) -> Path:
        return cache_home() / "calibrated" / f"{recipe_name}-{self.digest()[:16]}"


def cached(folder: Path) -> dict[str, Any] | None:
    """The metadata of a finished checkpoint in `folder`, or None."""
    meta = folder / META_FILE
    return json.loads(meta.read_text()) if meta.is_file() else None


def store(folder: Path, key: CacheKey, write: Any) -> dict[str, Any]:
    """Call `write(tmp_folder) -> seconds` (the calibration), add the metadata, move the folder
    into place; returns the metadata."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        seconds = write(tmp)
        meta = {"calibration_s": round(seconds, 3), "model_hash": key.model_hash,
                "recipe": key.recipe, "calibration_ids": list(key.calibration_ids),
                "versions": key.versions}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1))
        tmp.rename(folder)
    except OSError:
        if cached(folder) is None:  # not another process's finished copy: a real failure
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cached(folder) or {}
