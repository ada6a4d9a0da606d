"""Decode one sample's image late, so that a corrupt image fails that sample and not the run.

Canonical datasets keep their `image` column undecoded: a `{"bytes", "path"}` dict (an
`Image(decode=False)` feature), a local path, or an http(s) URL. `decode_image` turns any of
them into an RGB PIL image or raises `SampleError` naming the sample.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from PIL import Image as PILImage

from vlmq.errors import SampleError

_TRUE = ("1", "true", "yes", "on")


def hub_offline() -> bool:
    """Whether the user asked Hugging Face libraries to stay offline (read at call time)."""
    return any(
        os.environ.get(var, "").strip().lower() in _TRUE
        for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def decode_image(
    value: Any, sample_id: str, image_root: str | None = None
) -> PILImage.Image:
    """The sample's image as RGB; relative paths are read under `image_root`."""
    try:
        image = _open(value, sample_id, image_root)
        image.load()  # PIL opens lazily: force the full decode so truncated files fail here
        return image.convert("RGB")
    except SampleError:
        raise
    except Exception as exc:  # PIL and fsspec raise many types for bad data
        raise SampleError(f"sample {sample_id}: unreadable image ({_reason(exc)})") from exc


def _open(value: Any, sample_id: str, image_root: str | None) -> PILImage.Image:
    if isinstance(value, PILImage.Image):
        return value
    if isinstance(value, dict):
        if value.get("bytes"):
            return PILImage.open(io.BytesIO(value["bytes"]))
        value = value.get("path")
    if isinstance(value, bytes):
        return PILImage.open(io.BytesIO(value))
    if not isinstance(value, str) or not value:
        raise SampleError(f"sample {sample_id}: unreadable image (no image data: {value!r})")
    if value.startswith(("http://", "https://")):
        return _open_url(value, sample_id)
    path = Path(value)
    if not path.is_absolute() and image_root is not None:
        path = Path(image_root) / path
    if not path.is_file():
        where = f" under image_root {image_root!r}" if image_root else " (set image_root?)"
        raise SampleError(f"sample {sample_id}: unreadable image (no file {str(path)!r}{where})")
    return PILImage.open(path)


def _open_url(url: str, sample_id: str) -> PILImage.Image:
    hint = "give the images as a local COCO folder via image_root"
    if hub_offline():
        raise SampleError(
            f"sample {sample_id}: unreadable image (offline, cannot fetch {url}; {hint})"
        )
    from datasets import Image

    try:
        # datasets fetches remote paths through fsspec, with its own retries and auth.
        return Image().decode_example({"path": url, "bytes": None})
    except OSError as exc:
        raise SampleError(
            f"sample {sample_id}: unreadable image (cannot fetch {url}: {_reason(exc)}; {hint})"
        ) from exc


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
