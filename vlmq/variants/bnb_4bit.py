"""bitsandbytes 4-bit (NF4 / FP4) weights with blockwise scales, at load time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.devices import dtype_name
from vlmq.measure.estimate import KernelTransit, element_bytes
from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS
from vlmq.variants.targets import linears_shaped

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
        return linears_shaped(model, parts, self.quantizes,
                              lambda i, o: bool(o % CPU_BLOCK_N or i % CPU_BLOCK_K))

    def kernel(self, device_type: str, dtype: str = "float32",
               settings: VariantSettings | None = None) -> str:
        compute = dtype_name(compute_dtype((settings or VariantSettings())
                                            .bnb_4bit_compute_dtype, device_type))
        what = f"bitsandbytes {self.quant_type.upper()} 4-bit"
        if device_type == "cuda":
            return (f"{what}, CUDA: a fused 4-bit kernel for up to 256 rows (decoding), above "
                    f"that the whole weight dequantized to {compute} and a cuBLAS matmul")
        if not _cpu_bf16_kernel():
            return (f"{what} on CPU (no AVX-512 BF16 here): every call dequantizes the whole "
                    f"weight to {compute} and runs a dense matmul")
        return (f"{what} on CPU: loading repacks each weight into bitsandbytes' AVX-512 "
                f"BF16 layout (blocks of {CPU_BLOCK_N} outputs, bfloat16 scales), which its "
                f"first call would otherwise do; every call "
                f"casts the {dtype} input to {compute}, then to bfloat16 for the fused 4-bit x "
                f"bfloat16 kernel ({_cpu_gemm(self.quant_type)}), whose bfloat16 output goes "
                f"back to {compute}, then to {dtype}")

    def finish_load(self, model: Any, device_type: str) -> None:
        """On CPU, cast every 4-bit layer's bias to the compute dtype (`_cast_biases`) and, on
        an AVX-512 BF16 CPU, repack every 4-bit weight into the CPU kernel's layout now,
        exactly as bitsandbytes' first call would (`_convert_weight_packed_for_cpu`, which its
        Linear4bit.forward calls once per layer). The repack is loading's work: done here its
        temporaries (the weight unpacked to int32 and two uint8 copies, 7 bytes per weight)
        count in the load peak and go back to the kernel as they are freed, where on the first
        call glibc kept the replaced copies until the call ended (LLaVA-1.5-7B nf4: 1,742 MiB,
        half its 4-bit weights; stacks of nf4 layers: all of them), and the first call times
        the kernel, not the repack. After the disk size: saving inverts the packing in place
        and re-quantizes the scales."""
        first_call_work_at_load(model, device_type)

    def quantize_transit(self, device_type: str) -> float:
        """On CPU bitsandbytes quantizes with torch ops (its default backend's quantize_4bit);
        fp4 maps the int32 bucket indices through an int64 order table, and indexing first
        copies the indices to int64: 8 + 8 more bytes per weight while the scaled copy and the
        int32 indices live (measured on a 4096 x 1024 weight: 24.0 bytes per weight float32
        in, 28.1 bfloat16 in, against nf4's 10.0 and 14.0)."""
        extra = 14 if device_type == "cpu" and self.quant_type == "fp4" else 0
        return super().quantize_transit(device_type) + extra

    def kernel_transit(self, device_type: str, dtype: str = "float32",
                       settings: VariantSettings | None = None) -> KernelTransit:
        """On an AVX-512 BF16 CPU, per token: the input cast to the compute dtype (unless it is
        in it) and to bfloat16; the kernel's bfloat16 output, its cast to the compute dtype and
        back to the input's (measured 6 bytes per input and per output feature, bfloat16
        input, float32 compute: 768 x 3072 and 3072 x 768, 8,192 tokens). The repack at load
        (`finish_load`) keeps the scales in bfloat16 (16 bits per 64 weights; 8 with double
        quantization) and its temporaries are within the load-time quantizer's."""
        if device_type != "cpu":
            return KernelTransit()
        settings = settings or VariantSettings()
        compute = dtype_name(compute_dtype(settings.bnb_4bit_compute_dtype, device_type))
        cast_in = element_bytes(compute) if compute != dtype else 0
        if not _cpu_bf16_kernel():  # dequantized weight in the compute dtype, a dense matmul
            return KernelTransit(per_input=cast_in,
                                 per_output=element_bytes(compute)
                                 + (element_bytes(dtype) if cast_in else 0),
                                 per_weight=element_bytes(compute))
        to_bf16 = 2 if compute != "bfloat16" else 0  # the kernel takes and gives bfloat16
        to_compute = element_bytes(compute) if to_bf16 else 0
        to_input = element_bytes(dtype) if dtype != compute else 0
        return KernelTransit(per_input=cast_in + to_bf16,
                             per_output=max(2 + to_compute, to_compute + to_input),
                             extra_bits=8 / 64 if settings.bnb_4bit_double_quant else 0.0)

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



def _cpu_bf16_kernel() -> bool:
    """bitsandbytes runs 4-bit layers through its fused bfloat16 CPU kernel where the CPU has
    AVX-512 BF16 (its weights repacked for it, at load by `finish_load`)."""
    from bitsandbytes.functional import has_avx512bf16

    return bool(has_avx512bf16())


def first_call_work_at_load(model: Any, device_type: str) -> None:
    """Do on CPU what bitsandbytes' first 4-bit call would (the nf4/fp4 variants, and as-saved
    on a 4-bit checkpoint, which runs the same kernel): cast each bias to the compute dtype,
    and put the weights in the AVX-512 BF16 kernel's layout; nothing elsewhere."""
    if device_type != "cpu":
        return
    _cast_biases(model)
    if _cpu_bf16_kernel():
        _repack_for_cpu(model)


def _cast_biases(model: Any) -> int:
    """Cast every 4-bit layer's bias to the layer's compute dtype, as Linear4bit.forward does
    on its first call (`bias.data = bias.data.to(x.dtype)`); how many were. Made during that
    call, each new bias is a small block kept among the call's freed temporaries: glibc's
    heap could not reuse or give back what lay below them. SmolVLM-256M nf4's first call over
    17 tiles grew by 1,616 MiB with its 72 vision biases cast by the call, 1,156 with them
    cast at load; its heap after the call was 1,418 MiB against 480 (2026-12-07,
    reports/cpu/real-scale/kernel-transit/first-call-bias.md)."""
    cast = 0
    for module in _four_bit_layers(model):
        bias, compute = getattr(module, "bias", None), getattr(module, "compute_dtype", None)
        if bias is None or compute is None or bias.dtype == compute:
            continue
        bias.data = bias.data.to(compute)
        cast += 1
    return cast


def _repack_for_cpu(model: Any) -> int:
    """Repack the model's 4-bit weights not yet in the CPU kernel's layout; how many were."""
    from bitsandbytes.functional import _convert_weight_packed_for_cpu

    repacked = 0
    for module in _four_bit_layers(model):
        weight = module.weight
        state = getattr(weight, "quant_state", None)
        if (state is None or weight.device.type != "cpu"
                or getattr(state, "packing_format_for_cpu", False)):
            continue
        weight.data, weight.quant_state = _convert_weight_packed_for_cpu(weight.data, state)
        repacked += 1
    return repacked


def _four_bit_layers(model: Any) -> list[Any]:
    """The model's modules whose weight is a bitsandbytes 4-bit parameter (Linear4bit)."""
    return [m for m in model.modules()
            if type(getattr(m, "weight", None)).__name__ == "Params4bit"]


def _cpu_gemm(quant_type: str) -> str:
    """bitsandbytes takes the kernels-community gemm when the `kernels` package is installed,
    else its own library's."""
    import importlib.util

    if importlib.util.find_spec("kernels") is not None:
        return "kernels-community's gemm_4bit_forward"
    return (f"gemv_4bit_inference_cpu_{quant_type}_bf16 of libbitsandbytes_cpu; the faster "
            f"kernels-community gemm is not installed")


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
