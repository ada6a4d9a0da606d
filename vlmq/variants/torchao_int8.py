"""torchao int8, applied after loading: weight-only (`torchao-int8`) and dynamic-activation
(`dynamic-int8`: activations quantized to int8 per batch, as torch.ao's deprecated
quantize_dynamic did, through torchao's maintained config)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.measure.estimate import KernelTransit
from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS


@dataclass(frozen=True)
class TorchaoInt8(Variant):
    """Replaces the weights of the targeted Linear layers by torchao tensor subclasses;
    `config` is the name of the torchao.quantization config class that says how. Other torchao
    recipes (int4, float8) subclass it and override `torchao_config` where the config takes
    arguments."""

    config: str = "Int8WeightOnlyConfig"
    # which kernels its Linear layers run (CPU: profiled with torch.profiler on torch 2.13 and
    # torchao 0.18, eager mode: what vlmq runs, not compiled; CUDA: read from torchao's code)
    cpu_kernel: str = ""
    cuda_kernel: str = ""

    def torchao_config(self) -> Any:
        import torchao.quantization as tq

        return getattr(tq, self.config)()

    def quantized_linear(self, module: Any) -> bool:
        # torchao keeps the nn.Linear and swaps its weight for a tensor subclass
        import torch.nn as nn

        weight = getattr(module, "weight", None) if isinstance(module, nn.Linear) else None
        return weight is not None and type(weight.data).__module__.startswith("torchao")

    def kernel(self, device_type: str, dtype: str = "float32",
               settings: VariantSettings | None = None) -> str:
        return self.cpu_kernel if device_type == "cpu" else self.cuda_kernel

    def kernel_transit(self, device_type: str, dtype: str = "float32",
                       settings: VariantSettings | None = None) -> KernelTransit:
        """Weight-only: the whole int8 weight converted to the activation dtype per call
        (measured: 4 bytes per weight, float32), and with bfloat16 activations 4 bytes per
        output feature, the output included. Dynamic: per token, the activations'
        quantization temporaries and int8 copy, the int32 product and its rescale (5.8 bytes
        per input and 13.5 per output feature, output included). Measured on 768 x 3072 and
        3072 x 768 Linears over 8,192 tokens (docs/real-scale.md)."""
        if self.config == "Int8WeightOnlyConfig":
            if dtype == "float32":
                return KernelTransit(per_weight=4)
            return KernelTransit(per_output=4.0, per_weight=2)
        if self.config == "Int8DynamicActivationInt8WeightConfig":
            return KernelTransit(per_input=6.0, per_output=13.5)
        return KernelTransit()

    def post_load(
        self, model: Any, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> None:
        from torchao.quantization import quantize_

        names = set(self.target_linears(model, parts, settings))
        quantize_(model, self.torchao_config(), filter_fn=lambda _m, fqn: fqn in names)


_ALL = ("vision", "projector", "text")
# save_pretrained cannot write torchao's tensor subclasses: bytes on disk come from torch.save.
# Not by default: torchao's int8 by default is dynamic-int8 on a CPU (the faster there), and
# its float8 recipes on a GPU (one per backend and precision).
VARIANTS.add("torchao-int8", TorchaoInt8(
    name="torchao-int8", bits=8, quantizes=_ALL, packages=("torchao",), save="torch.save",
    by_default=False,
    description="torchao int8 weight-only quantization of every Linear but the head",
    cpu_kernel="eager torchao Int8Tensor, weight-only: every call converts the int8 weight to "
               "the activation dtype (aten::_to_copy, a full-size float copy) and runs a dense "
               "aten::mm, so it moves more bytes than the float model; a CPU deployment compiles "
               "it (torch.compile fuses the dequantization into the matmul) or runs dynamic-int8",
    cuda_kernel="eager torchao Int8Tensor, weight-only: every call converts the int8 weight to "
                "the activation dtype and runs a dense aten::mm (cuBLAS); torch.compile fuses "
                "the conversion into the matmul",
))
VARIANTS.add("dynamic-int8", TorchaoInt8(
    name="dynamic-int8", bits=8, quantizes=_ALL, devices=("cpu",), packages=("torchao",),
    save="torch.save", config="Int8DynamicActivationInt8WeightConfig",
    description="torchao int8 weights and per-batch dynamic int8 activations of every Linear "
                "but the head (CPU)",
    cpu_kernel="eager torchao Int8Tensor, dynamic activations: every call quantizes the "
               "activations per token (amin/amax, scale, round: a dozen small aten ops) and runs "
               "aten::_int_mm (int8 x int8 -> int32) then a rescale; torch.ao's deprecated "
               "quantize_dynamic (the seed's path) ran fbgemm's fused quantized::linear_dynamic",
))
