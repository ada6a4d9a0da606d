"""Where the embedded default models live: small trained checkpoints shipped inside the package
(under vlmq/zoo/, beside the tools that train and evaluate them). The table sits here, below the
loader, so that loading an embedded model never imports the zoo's tools (which drive a session)."""

from __future__ import annotations

from pathlib import Path

from vlmq.errors import VlmqError

_ZOO_DIR = Path(__file__).resolve().parent.parent / "zoo"

ZOO: dict[str, Path] = {
    "llava-tiny": _ZOO_DIR / "llava-tiny",
    "vit-tiny": _ZOO_DIR / "vit-tiny",
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
