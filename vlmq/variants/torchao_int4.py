"""torchao int4 weight-only quantization (groups of 128, bfloat16 activations) on CUDA.

torchao 0.18 runs it through the `mslk` kernels (pip package `mslk-cuda`); without them its
first forward raises, so the variant is unavailable, with the install hint, where they are
missing. The rest of the model runs in bfloat16, the dtype these int4 kernels take.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from vlmq.variants.registry import VARIANTS
from vlmq.variants.torchao_int8 import TorchaoInt8

GROUP_SIZE = 128


@dataclass(frozen=True)
class TorchaoInt4(TorchaoInt8):
    def unavailable_reason(self, device_type: str) -> str | None:
        reason = super().unavailable_reason(device_type)
        if reason is None and importlib.util.find_spec("mslk") is None:
            return (f"variant {self.name!r}: torchao's int4 weight-only kernels need the mslk "
                    f"package, not installed (pip install mslk-cuda)")
        return reason

    def base_dtype(self, device_type: str) -> Any:
        import torch

        return torch.bfloat16

    def torchao_config(self) -> Any:
        from torchao.quantization import Int4WeightOnlyConfig

        return Int4WeightOnlyConfig(group_size=GROUP_SIZE)


VARIANTS.add("torchao-int4", TorchaoInt4(
    name="torchao-int4", bits=4, quantizes=("vision", "projector", "text"), devices=("cuda",),
    packages=("torchao",), save="torch.save", config="Int4WeightOnlyConfig",
    description="torchao int4 weight-only (groups of 128) of every Linear but the head; CUDA "
                "with the mslk kernels",
    cuda_kernel="torchao Int4Tensor: mslk's fused bf16i4bf16_rowwise gemm (int4 weights with "
                "groups of 128, bfloat16 activations)",
))
