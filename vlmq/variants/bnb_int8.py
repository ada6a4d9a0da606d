"""bitsandbytes LLM.int8: int8 weights with fp16 outlier decomposition, at load time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from vlmq.measure.estimate import KernelTransit
from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS

# What one LLM.int8 call holds on CPU (bitsandbytes 0.50 MatMul8bitLt and its default ops), per
# token: per input feature a float16 copy, its absolute value, the outlier mask and the int8
# row (measured 7.1 bytes); per output feature the int32 accumulator, the float32 scale
# product and rescaled result, the output (measured 15.8). One Linear of 768 x 3072 and of
# 3072 x 768, 8,192 tokens, bfloat16 and float32 activations (docs/real-scale.md).
CPU_TRANSIT = KernelTransit(per_input=7.0, per_output=16.0)
# With outlier decomposition a call keeps its outlier columns on the layer (`state.idx`) until
# the next call, allocated after the float16 copy of its input, that copy's absolute values and
# the outlier mask (2, 2 and 1 bytes per input feature): glibc's heap keeps such a set per layer
# (vlmq.measure.estimate._kept_heap).
CPU_OUTLIER_TRANSIT = dataclasses.replace(CPU_TRANSIT, before_kept=(2.0, 2.0, 1.0))


@dataclass(frozen=True)
class BnbInt8(Variant):
    """Quantizes the Linear layers of `quantizes` through transformers' BitsAndBytesConfig."""

    quantized_module_types = ("bitsandbytes.nn.modules.Linear8bitLt",)

    def count_bytes(self, module: Any, add: Any) -> None:
        # The row scales (SCB) hang on the weight, not as a parameter; after the first forward
        # module.state caches CB (the weight's own storage, deduplicated) and SCB (maybe a copy).
        if not self.quantized_linear(module):
            return
        add(getattr(module.weight, "SCB", None))
        add(getattr(module.state, "CB", None))
        add(getattr(module.state, "SCB", None))

    def kernel(self, device_type: str, dtype: str = "float32",
               settings: VariantSettings | None = None) -> str:
        threshold = (settings or VariantSettings()).int8_threshold
        outliers = (f"input columns holding a value of at least {threshold} go through a "
                    f"dense {dtype} matmul with their weight columns dequantized"
                    if threshold > 0 else "no outlier decomposition (threshold 0)")
        if device_type == "cuda":
            return ("bitsandbytes LLM.int8, CUDA: activations quantized per row to int8, "
                    "cuBLASLt int8 matmul (int32 accumulation), its kernel's rescale to float16 "
                    f"then a cast to {dtype}; {outliers}")
        return (f"bitsandbytes LLM.int8 on CPU: every call casts the {dtype} activations to "
                f"float16, quantizes them per row to int8, runs {_cpu_int8_matmul()} and "
                f"rescales the int32 result in float32 back to {dtype}; {outliers}")

    def kernel_transit(self, device_type: str, dtype: str = "float32",
                       settings: VariantSettings | None = None) -> KernelTransit:
        if device_type != "cpu":
            return KernelTransit()
        threshold = (settings or VariantSettings()).int8_threshold
        return CPU_OUTLIER_TRANSIT if threshold > 0 else CPU_TRANSIT

    def load_kwargs(
        self, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> dict[str, Any]:
        from transformers import BitsAndBytesConfig

        # The skip list replaces transformers' defaults, so it must name the head itself:
        # skip_modules covers every part not quantized, the head included.
        config = BitsAndBytesConfig(
            load_in_8bit=True,
            llm_int8_threshold=settings.int8_threshold,
            llm_int8_skip_modules=self.skip_modules(parts, settings),
        )
        return {"dtype": self.base_dtype(device_type), "quantization_config": config}


def _cpu_int8_matmul() -> str:
    """bitsandbytes registers torch._int_mm as its CPU int8 matmul only on AVX-512 CPUs (its
    scalar fallback elsewhere is slower than float32); otherwise its default op multiplies the
    int8 values as float32."""
    import torch

    if torch.backends.cpu.get_cpu_capability() == "AVX512":
        return "torch._int_mm (int8 x int8 -> int32, oneDNN on this AVX-512 CPU)"
    return "a float32 matmul of the int8 values (no AVX-512 here, so no torch._int_mm)"


_COMMON = {"bits": 8, "packages": ("bitsandbytes",)}
VARIANTS.add("int8", BnbInt8(
    name="int8", quantizes=("vision", "projector", "text"), **_COMMON,
    description="bitsandbytes LLM.int8 on every Linear but the head",
))
VARIANTS.add("int8-text", BnbInt8(
    name="int8-text", quantizes=("text",), **_COMMON,
    description="bitsandbytes LLM.int8 on the language model only",
))
VARIANTS.add("int8-vision", BnbInt8(
    name="int8-vision", quantizes=("vision", "projector"), **_COMMON,
    description="bitsandbytes LLM.int8 on the vision tower and projector only",
))
