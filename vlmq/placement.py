"""Where a model's weights go: one device, or spread over several with accelerate's device maps.

`--vlmq-device-map auto|balanced|balanced_low_0|sequential` hands the placement to accelerate
(through `from_pretrained(device_map=..., max_memory=...)`), for models larger than one GPU.
`--vlmq-max-memory DEVICE=SIZE` caps what each device may hold (`0=20GiB`, `cuda:1=30GiB`,
`cpu=64GiB`); what fits nowhere is offloaded to disk, into a folder that lives as long as the
model. Without a device map the whole model sits on the run's device, as before.

After loading, `bytes_per_device` says how much of the model each device holds ("disk" for
offloaded weights), so a spread model's memory is reported per device.
"""

from __future__ import annotations

import re
import tempfile
from typing import Any

from vlmq.errors import VlmqError

DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$", re.IGNORECASE)


def is_size(text: str) -> bool:
    """'20GiB', '512MB', '1000000' (bytes)."""
    return _SIZE.match(str(text)) is not None


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def size_bytes(text: str) -> int:
    """'20GiB' -> 21474836480, '512MB' -> 512000000, '1000000' -> 1000000 (accelerate's units)."""
    match = _SIZE.match(str(text))
    if match is None:
        raise VlmqError(f"{text!r} is not a size such as 20GiB, 512MB or 1000000 (bytes)")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "B").lower()])


def check_device_map(device_map: str) -> None:
    if device_map and device_map not in DEVICE_MAPS:
        raise VlmqError(f"--vlmq-device-map {device_map!r}: expected one of "
                        f"{', '.join(DEVICE_MAPS)} (or empty for one device)")


def max_memory_map(max_memory: dict[str, str]) -> dict[Any, str]:
    """{'0': '20GiB', 'cuda:1': '30GiB', 'cpu': '2MB'} -> accelerate's {0: ..., 1: ..., 'cpu':
    ...}; sizes are checked here so that a typo fails before any model loads."""
    out: dict[Any, str] = {}
    for device, size in max_memory.items():
        if not is_size(size):
            raise VlmqError(f"--vlmq-max-memory {device}={size}: expected a size such as "
                            f"20GiB, 512MB or 1000000 (bytes)")
        key = device.strip()
        if key.startswith("cuda:"):
            key = key[5:]
        if key.isdigit():
            out[int(key)] = str(size).strip()
        elif key in ("cpu", "mps", "disk"):
            out[key] = str(size).strip()
        else:
            raise VlmqError(f"--vlmq-max-memory {device}={size}: the device must be a GPU index "
                            f"(0, cuda:1), cpu or disk")
    return out


class Placement:
    """from_pretrained's placement arguments for one load; owns the disk-offload folder."""

    def __init__(self, device: str, device_map: str = "",
                 max_memory: dict[str, str] | None = None) -> None:
        check_device_map(device_map)
        self.device = device
        self.device_map = device_map
        self.max_memory = max_memory_map(max_memory or {})
        self._offload: tempfile.TemporaryDirectory[str] | None = None

    @property
    def spread(self) -> bool:
        return bool(self.device_map)

    def load_kwargs(self) -> dict[str, Any]:
        if not self.spread:
            return {"device_map": {"": self.device}}
        self._offload = tempfile.TemporaryDirectory(prefix="vlmq-offload-")
        kwargs: dict[str, Any] = {"device_map": self.device_map,
                                  "offload_folder": self._offload.name}
        if self.max_memory:
            kwargs["max_memory"] = self.max_memory
        return kwargs

    def close(self) -> None:
        if self._offload is not None:
            self._offload.cleanup()
            self._offload = None


def bytes_per_device(model: Any) -> dict[str, int]:
    """Bytes of parameters and buffers on each device; weights accelerate offloaded to disk
    (kept as meta tensors with a hook) count as "disk"."""
    hf_map = getattr(model, "hf_device_map", None) or {}
    disk = {name for name, dev in hf_map.items() if dev == "disk"}
    out: dict[str, int] = {}
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        device = str(tensor.device)
        if device == "meta" or any(name == d or name.startswith(d + ".") for d in disk):
            device = "disk"
        out[device] = out.get(device, 0) + tensor.numel() * tensor.element_size()
    return out
