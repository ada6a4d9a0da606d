"""torch.ao dynamic quantization: int8 weights, activations quantized per batch (CPU only)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from vlmq.errors import VlmqError
from vlmq.variants.base import VARIANTS, Variant, VariantSettings
from vlmq.variants.targets import target_linears


@dataclass(frozen=True)
class TorchDynamicInt8(Variant):
    """Swaps the targeted Linear layers for torch.ao.nn.quantized.dynamic.Linear after loading."""

    def post_load(
        self, model: Any, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> None:
        import torch
        import torch.ao.nn.quantized.dynamic as nnqd
        import torch.nn as nn

        names = target_linears(model, parts, self.quantizes, settings.keep_modules)
        if not names:
            raise VlmqError(f"variant {self.name!r} found no Linear layer in parts "
                            f"{', '.join(self.quantizes)} of this model; check the part paths")
        with warnings.catch_warnings():
            # torch.ao.quantization is deprecated in favour of torchao but still works here.
            warnings.simplefilter("ignore")
            from torch.ao.quantization import quantize_dynamic

            # A set of module names targets exactly those layers; the mapping keeps the
            # conversion to Linear (no LSTM/GRU or subclass surprises).
            quantize_dynamic(model, set(names), dtype=torch.qint8,
                             mapping={nn.Linear: nnqd.Linear}, inplace=True)


VARIANTS.add("dynamic-int8", TorchDynamicInt8(
    name="dynamic-int8", bits=8, quantizes=("vision", "projector", "text"), devices=("cpu",),
    # save_pretrained cannot write packed params: bytes on disk come from torch.save.
    options={"save": "torch.save"},
    description="torch.ao dynamic int8 quantization of every Linear but the head (CPU)",
))
