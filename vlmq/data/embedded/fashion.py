"""Fashion-MNIST from Debian's `dataset-fashion-mnist` package (IDX files, gzipped)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from vlmq.errors import UnavailableError

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
VALIDATION_SIZE = 5000  # the last 5,000 train images form the validation split


def data_dir() -> Path:
    return Path(os.environ.get("VLMQ_FASHION_MNIST_DIR", DEFAULT_DIR))


def unavailable_reason() -> str | None:
    """Why Fashion-MNIST cannot be read here (a missing file), or None when it can."""
    for prefix in ("train", "t10k"):
        for part in ("images-idx3", "labels-idx1"):
            path = data_dir() / f"{prefix}-{part}-ubyte.gz"
            if not path.exists():
                return (f"fashion-mnist file {path} is missing: apt-get install -y "
                        "dataset-fashion-mnist (or set VLMQ_FASHION_MNIST_DIR to a folder "
                        "holding the four IDX .gz files)")
    return None


def _read_idx(path: Path) -> np.ndarray:
    if not path.exists():
        raise UnavailableError(unavailable_reason() or f"{path} is missing")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [n, 28, 28], labels int64 [n]) of one split."""
    prefix = "t10k" if split == "test" else "train"
    images = _read_idx(data_dir() / f"{prefix}-images-idx3-ubyte.gz")
    labels = _read_idx(data_dir() / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    if split == "train":
        return images[:-VALIDATION_SIZE], labels[:-VALIDATION_SIZE]
    if split == "validation":
        return images[-VALIDATION_SIZE:], labels[-VALIDATION_SIZE:]
    return images, labels
