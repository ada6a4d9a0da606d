"""Plain floating-point variants: the model loaded in one dtype, nothing quantized."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.variants.base import Variant
from vlmq.variants.registry import VARIANTS


@dataclass(frozen=True)
class Precision(Variant):
    """Every weight in `dtype_name` (a torch dtype attribute name); Variant.load_kwargs
    passes base_dtype as the from_pretrained dtype."""

    dtype_name: str = "float32"

    def base_dtype(self, device_type: str) -> Any:
        import torch

        return getattr(torch, self.dtype_name)


for _name, _dtype, _bits in (("fp32", "float32", 32), ("fp16", "float16", 16),
                             ("bf16", "bfloat16", 16)):
    VARIANTS.add(_name, Precision(
        name=_name, bits=_bits, dtype_name=_dtype,
        description=f"every weight in {_dtype}, nothing quantized",
    ))
