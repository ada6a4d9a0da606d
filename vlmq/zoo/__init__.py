"""The embedded default models: small trained checkpoints shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from vlmq.errors import VlmqError

_HERE = Path(__file__).resolve().parent

ZOO: dict[str, Path] = {
    "llava-tiny": _HERE / "llava-tiny",
    "vit-tiny": _HERE / "vit-tiny",
}


def zoo_path(name: str) -> Path:
    """The checkpoint folder of a zoo model, ready for `from_pretrained`."""
    if name not in ZOO:
        raise VlmqError(f"unknown zoo model {name!r}: use one of {', '.join(ZOO)}")
    path = ZOO[name]
    if not (path / "config.json").exists():
        raise VlmqError(
            f"zoo model {name!r} has no checkpoint at {path}: rebuild it with "
            f"`python -m vlmq.zoo.train --model {name}`"
        )
    return path
