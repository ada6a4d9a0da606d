"""HQQ (half-quadratic quantization): 4- or 8-bit weights with per-group scales and zeros,
found without calibration data, applied after loading to the targeted Linear layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.measure.estimate import KernelTransit, element_bytes
from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS

GROUP_SIZE = 64  # HQQ's default; every hidden size of the embedded models is a multiple of 64


@dataclass(frozen=True)
class Hqq(Variant):
    """Swaps each targeted nn.Linear for an hqq HQQLinear of `bits` bits."""

    quantized_module_types = ("hqq.core.quantize.HQQLinear",)

    def count_bytes(self, module: Any, add: Any) -> None:
        # scales and zeros live in the module's `meta` dict and the bias is a plain attribute:
        # none of them is a parameter or a buffer
        if self.quantized_linear(module):
            for value in [*getattr(module, "meta", {}).values(), getattr(module, "bias", None)]:
                if hasattr(value, "untyped_storage"):
                    add(value)

    def kernel(self, device_type: str, dtype: str = "float32",
               settings: VariantSettings | None = None) -> str:
        # hqq 0.2.8, HQQLinear with its default backend (HQQBackend.PYTORCH): forward_pytorch
        return (f"HQQ {self.bits}-bit, its default PyTorch backend on {device_type.upper()}: "
                f"every call unpacks the whole weight and dequantizes it to {dtype} "
                f"((W_q - zero) x scale per group of {GROUP_SIZE}), then a dense matmul; no "
                f"fused kernel (hqq's ATen/torchao backends are not set)")

    def kernel_transit(self, device_type: str, dtype: str = "float32",
                       settings: VariantSettings | None = None) -> KernelTransit:
        """The unpacked weight and its dequantized copies (measured on a 4096 x 4096 Linear,
        float32: 12.0 bytes per weight at 8 bits, 13.0 at 4)."""
        return KernelTransit(per_weight=3 * element_bytes(dtype))

    def post_load(
        self, model: Any, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> None:
        from hqq.core.quantize import BaseQuantizeConfig, HQQLinear

        names = self.target_linears(model, parts, settings)
        config = BaseQuantizeConfig(nbits=self.bits, group_size=GROUP_SIZE)
        for name in names:
            linear = model.get_submodule(name)
            parent, _, child = name.rpartition(".")
            quantized = HQQLinear(linear, config, compute_dtype=linear.weight.dtype,
                                  device=str(linear.weight.device))
            setattr(model.get_submodule(parent), child, quantized)


for _bits in (8, 4):
    VARIANTS.add(f"hqq-int{_bits}", Hqq(
        name=f"hqq-int{_bits}", bits=_bits, quantizes=("vision", "projector", "text"),
        packages=("hqq",), save="torch.save",
        description=f"HQQ {_bits}-bit weights (groups of {GROUP_SIZE}) of every Linear but the "
                    f"head, no calibration",
    ))
