"""Model size: bytes held in memory (quantized storage counted as stored) and bytes on disk.

transformers' `get_memory_footprint` multiplies each parameter's numel by its element size:
it misses bitsandbytes' scales and 4-bit quant state, HQQ's scales and zeros (kept outside
parameters) and counts tensor subclasses (torchao, quanto) at their outer float size. Here
every storage is walked and counted once, at the size it really has: parameters and buffers,
the inner tensors of wrapper subclasses, and whatever the recipes handed in say their backend
keeps on a module besides (`count_bytes`; callers pass vlmq.variants.registry.backends(), so
this module knows no backend).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

SAVE_METHODS = ("save_pretrained", "torch.save")


class SideStorage(Protocol):
    """A backend that keeps tensors on a module outside its parameters and buffers."""

    def count_bytes(self, module: Any, add: Callable[[Any], None]) -> None: ...


def model_bytes(model: Any, side_storage: Sequence[SideStorage]) -> int:
    """Bytes of every parameter, buffer and quantization side tensor of `model` (those that
    `side_storage` reports), each storage counted once (tied weights, bnb's cached CB/SCB)."""
    seen: dict[Any, int] = {}

    def add(tensor: Any) -> None:
        _add_tensor(tensor, seen)

    for module in model.modules():
        for tensor in module.parameters(recurse=False):
            add(tensor)
        for tensor in module.buffers(recurse=False):
            add(tensor)
        for backend in side_storage:
            backend.count_bytes(module, add)
    return sum(seen.values())


def _add_tensor(t: Any, seen: dict[Any, int]) -> None:
    from torch.utils._python_dispatch import is_traceable_wrapper_subclass

    if t is None:
        return
    if is_traceable_wrapper_subclass(t):
        # torchao, quanto and other wrapper subclasses: the real data is in the inner tensors.
        names, _ = t.__tensor_flatten__()
        for name in names:
            _add_tensor(getattr(t, name, None), seen)
        return
    if t.device.type == "meta":
        seen[("meta", id(t))] = t.numel() * t.element_size()
        return
    try:
        storage = t.untyped_storage()
        key: Any = (t.device.type, t.device.index, storage.data_ptr())
        size = storage.nbytes()
    except (RuntimeError, NotImplementedError):  # quantized tensors and other exotic layouts
        key, size = ("tensor", id(t)), t.numel() * t.element_size()
    seen[key] = max(size, seen.get(key, 0))


class SavedSize(NamedTuple):
    """Bytes on disk of a saved model (None when it could not be saved) and how, or why not."""

    bytes: int | None
    note: str


def saved_bytes(model: Any, how: Any = "save_pretrained") -> SavedSize:
    """Save `model` into a temporary folder and return the bytes written (all files).

    `how` is "save_pretrained" (safetensors + configs) or "torch.save" (the state_dict,
    for models whose quantized weights save_pretrained cannot write), or a Variant,
    whose `save` decides ("" when it cannot be saved). Failures come back as (None, reason),
    never raised.
    """
    method = how if isinstance(how, str) else how.save
    if not method:
        return SavedSize(None, f"variant {how.name!r} cannot be saved")
    if method not in SAVE_METHODS:
        return SavedSize(None, f"unknown save method {method!r} (use {' or '.join(SAVE_METHODS)})")
    with tempfile.TemporaryDirectory(prefix="vlmq-size-") as folder:
        try:
            if method == "save_pretrained":
                model.save_pretrained(folder)
            else:
                import torch

                torch.save(model.state_dict(), os.path.join(folder, "state_dict.pt"))
        except Exception as exc:  # noqa: BLE001 - any library failure means "cannot be saved"
            reason = " ".join(str(exc).split())[:200]
            return SavedSize(None, f"{method} failed: {type(exc).__name__}: {reason}")
        total = sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, files in os.walk(folder) for name in files
        )
    what = "safetensors and configs" if method == "save_pretrained" else "state_dict file"
    return SavedSize(total, f"{method} ({what})")
