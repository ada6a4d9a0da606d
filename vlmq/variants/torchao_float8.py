"""torchao float8 (e4m3) quantization: weight-only, and dynamic activation + weight.

float8 matmuls need the tensor cores of CUDA compute capability 8.9 and up (Ada, Hopper);
below it, and on CPU, the variants are unavailable with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.variants.registry import VARIANTS
from vlmq.variants.torchao_int8 import TorchaoInt8

MIN_CAPABILITY = (8, 9)


@dataclass(frozen=True)
class TorchaoFloat8(TorchaoInt8):
    def unavailable_reason(self, device_type: str) -> str | None:
        reason = super().unavailable_reason(device_type)
        if reason is not None:
            return reason
        import torch

        if not torch.cuda.is_available():
            return f"variant {self.name!r} needs a CUDA GPU, and torch sees none"
        capability = torch.cuda.get_device_capability()
        if capability < MIN_CAPABILITY:
            return (f"variant {self.name!r} needs CUDA compute capability >= 8.9 (float8 "
                    f"tensor cores); this GPU has {capability[0]}.{capability[1]}")
        return None

    def torchao_config(self) -> Any:
        import torchao.quantization as tq

        if self.config == "Float8DynamicActivationFloat8WeightConfig":
            # per-row scales: the granularity torchao recommends for float8 activations
            return tq.Float8DynamicActivationFloat8WeightConfig(granularity=tq.PerRow())
        return super().torchao_config()


_ALL = ("vision", "projector", "text")
VARIANTS.add("torchao-float8", TorchaoFloat8(
    name="torchao-float8", bits=8, quantizes=_ALL, devices=("cuda",), packages=("torchao",),
    save="torch.save", config="Float8WeightOnlyConfig",
    description="torchao float8 (e4m3) weight-only of every Linear but the head; CUDA >= 8.9",
    cuda_kernel="torchao Float8Tensor, weight-only: every call dequantizes the float8 weight to "
                "the activation dtype and runs a dense matmul (cuBLAS)",
))
VARIANTS.add("torchao-float8-dynamic", TorchaoFloat8(
    name="torchao-float8-dynamic", bits=8, quantizes=_ALL, devices=("cuda",),
    packages=("torchao",), save="torch.save", config="Float8DynamicActivationFloat8WeightConfig",
    description="torchao float8 dynamic activations and weights (per-row scales) of every "
                "Linear but the head; CUDA >= 8.9",
    cuda_kernel="torchao Float8Tensor, dynamic: every call quantizes the activations per row "
                "to float8 e4m3 and runs torch._scaled_mm (float8 tensor cores; mslk's "
                "f8f8bf16_rowwise gemm instead where mslk is installed on SM90+)",
))
