"""How a device is named: the one place that knows the spellings (cpu, cuda, cuda:N, auto).

The run's settings validate `--vlmq-device` with `is_device_setting`; loading resolves "auto"
and checks that the device exists; everything else asks `device_type` or `is_cuda`.
"""

from __future__ import annotations

import re
from typing import Any

DEVICE_TYPES = ("cpu", "cuda")
DEVICE_SPELLINGS = "cpu, cuda, cuda:N or auto"
_SETTING = re.compile(r"auto|cpu|cuda(:\d+)?")


def is_device_setting(text: str) -> bool:
    """True for a value `--vlmq-device` accepts (see DEVICE_SPELLINGS)."""
    return _SETTING.fullmatch(text) is not None


def device_type(device: Any) -> str:
    """'cuda:1' -> 'cuda'; also takes a torch.device."""
    return str(device).split(":")[0]


def is_cuda(device: Any) -> bool:
    return device_type(device) == "cuda"


def dtype_name(dtype: Any) -> str:
    """torch.bfloat16 (or the string "torch.bfloat16") -> 'bfloat16': the name entries and
    the estimate use, without importing torch."""
    return str(dtype).replace("torch.", "")
