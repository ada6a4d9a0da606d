"""bitsandbytes 4-bit (NF4 / FP4) weights with blockwise scales, at load time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS

CPU_BLOCK_N = 32  # bitsandbytes' CPU 4-bit kernel: output features per packed block
CPU_BLOCK_K = 64  # its quantization blocksize: the CPU repack takes input features in whole blocks


def compute_dtype(setting: str, device_type: str) -> Any:
    """The dtype 4-bit layers compute in (`setting` is one of
    vlmq.variants.settings.COMPUTE_DTYPES, which VariantSettings enforces). "auto": float16 on
    CUDA; float32 on CPU, where bnb's kernels ran bf16 no faster (NF4 2048x8192 Linear, 512
    rows: 29.3 ms fp32, 29.2 ms bf16) and fp32 adds no rounding on top of the 4-bit weights."""
    import torch

    if setting == "auto":
        return torch.float16 if device_type == "cuda" else torch.float32
    return getattr(torch, setting)


@dataclass(frozen=True)
class Bnb4bit(Variant):
    """Quantizes the Linear layers of `quantizes` to 4 bits of type `quant_type`."""

    quant_type: str = "nf4"

    quantized_module_types = ("bitsandbytes.nn.modules.Linear4bit",)

    def unsupported_layers(self, model: Any, parts: dict[str, list[str]],
                           device_type: str) -> list[str]:
        """On CPU, bitsandbytes packs 4-bit weights in blocks of 32 output features (`N must be
        divisible by block_n` otherwise) and repacks their scales per 64 input features (a
        reshape error otherwise): SmolVLM-Instruct's vision MLP is 4,304 wide, both ways."""
        if device_type != "cpu":
            return []
        roots = [path for part in self.quantizes for path in parts.get(part, [])]
        return [name for root in roots for name, m in model.get_submodule(root).named_modules(
                    prefix=root)
                if getattr(m, "out_features", CPU_BLOCK_N) % CPU_BLOCK_N
                or getattr(m, "in_features", CPU_BLOCK_K) % CPU_BLOCK_K]

    def scale_bits(self, bits: int) -> float:
        # an absmax per 64 weights, itself 8-bit with double quantization (float32 without)
        return 8 / 64

    def count_bytes(self, module: Any, add: Any) -> None:
        if self.quantized_linear(module):
            _add_quant_state(getattr(module.weight, "quant_state", None), add)

    def load_kwargs(
        self, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> dict[str, Any]:
        from transformers import BitsAndBytesConfig

        config = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=self.quant_type,
            bnb_4bit_use_double_quant=settings.bnb_4bit_double_quant,
            bnb_4bit_compute_dtype=compute_dtype(settings.bnb_4bit_compute_dtype, device_type),
            # Replaces transformers' default skips: names the head (and other parts) itself.
            llm_int8_skip_modules=self.skip_modules(parts, settings),
        )
        return {"dtype": self.base_dtype(device_type), "quantization_config": config}


def _add_quant_state(state: Any, add: Any) -> None:
    """A 4-bit QuantState holds absmax, code and offset and, with double quantization, a nested
    QuantState (`state2`) of the absmax values."""
    import torch

    for value in vars(state).values() if state is not None else ():
        if isinstance(value, torch.Tensor):
            add(value)
        elif type(value).__name__ == "QuantState":
            _add_quant_state(value, add)


_ALL = ("vision", "projector", "text")
# by default nf4 alone: one per backend and precision (fp4 and the text-only nf4 on request)
for _name, _qtype, _parts, _what, _default in (
    ("nf4", "nf4", _ALL, "every Linear but the head", True),
    ("fp4", "fp4", _ALL, "every Linear but the head", False),
    ("nf4-text", "nf4", ("text",), "the language model only", False),
):
    VARIANTS.add(_name, Bnb4bit(
        name=_name, bits=4, quantizes=_parts, quant_type=_qtype, packages=("bitsandbytes",),
        by_default=_default, description=f"bitsandbytes {_qtype.upper()} 4-bit on {_what}",
    ))
