"""bitsandbytes LLM.int8: int8 weights with fp16 outlier decomposition, at load time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS


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
