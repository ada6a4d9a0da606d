"""optimum-quanto weight-only int8 / int4 (per-channel int8; int4 with per-group scales and
shifts), applied after loading to the targeted Linear layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.checkpoint import unquantized_dtype
from vlmq.measure.estimate import KernelTransit, element_bytes
from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS
from vlmq.variants.targets import linears_shaped

# Input widths torch's fused int8-weight CPU matmul runs safely (tests/test_variants.py)
INT8PACK_WIDTH = 16
# quanto's int4 groups of 128 take TinyGemm on CPU, whose packing needs outputs in 16s
TINYGEMM_GROUP = 128
TINYGEMM_OUTPUTS = 16


@dataclass(frozen=True)
class Quanto(Variant):
    """quantize() then freeze(): the targeted nn.Linear become QLinear holding quanto tensor
    subclasses (their inner int8 / packed uint4 data and scales are counted by footprint)."""

    qtype: str = "qint8"

    quantized_module_types = ("optimum.quanto.nn.qlinear.QLinear",)

    def post_load(
        self, model: Any, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> None:
        import optimum.quanto as quanto
        import torch

        names = self.target_linears(model, parts, settings)
        # `include` takes fnmatch patterns: a full module path matches that module only
        quanto.quantize(model, weights=getattr(quanto, self.qtype), include=names)
        # Frozen in inference mode: int4 weights frozen outside it fail every forward under
        # torch.inference_mode ("Cannot set version_counter for inference tensor").
        with torch.inference_mode():
            quanto.freeze(model)


    def unsupported_layers(self, model: Any, parts: dict[str, list[str]],
                           device_type: str) -> list[str]:
        """On CPU with bfloat16 activations (a 16-bit checkpoint's dtype, which loading keeps),
        torch's fused kernels that quanto picks fail on some shapes (torch 2.13, Qwen2.5-VL-3B's
        vision MLP, 3,420 wide, 2026-12-07); such layers are kept in full precision, counted
        and noted:
        - int8: layers whose input width is a multiple of 4 go to `_weight_int8pack_mm`, which
          crashes the process (SIGSEGV) when the width is not a multiple of 16 and more than
          one row is multiplied;
        - int4: layers quantized in groups of 128 (input width a multiple of 128) are packed
          for TinyGemm, which refuses an output width that is not a multiple of 16."""
        if device_type != "cpu" or unquantized_dtype(model.config, device_type) != "bfloat16":
            return []
        if self.bits == 8:
            return linears_shaped(model, parts, self.quantizes,
                                  lambda i, o: bool(i % INT8PACK_WIDTH and i % 4 == 0))
        return linears_shaped(model, parts, self.quantizes,
                              lambda i, o: bool(i > TINYGEMM_GROUP and i % TINYGEMM_GROUP == 0
                                                and o % TINYGEMM_OUTPUTS))

    def kernel(self, device_type: str, dtype: str = "float32",
               settings: VariantSettings | None = None) -> str:
        """Read from optimum-quanto 0.2.7 (qbytes_mm's CPU and CUDA implementations,
        WeightQBitsTensor.create): which tensor and matmul its frozen weights get."""
        dense = (f"every call dequantizes the whole weight to {dtype} (scale x int "
                 f"values) and runs a dense matmul")
        if self.bits == 8:
            if device_type == "cpu" and dtype == "bfloat16":
                return ("optimum-quanto int8 weights on CPU, bfloat16 activations: "
                        "torch._weight_int8pack_mm (fused int8-weight matmul) for layers whose "
                        f"input width is a multiple of {INT8PACK_WIDTH} (other multiples of 4 "
                        f"would crash it: kept in full precision); else {dense}")
            return (f"optimum-quanto int8 weights on {device_type.upper()}, {dtype} activations "
                    f"(qbytes_mm): {dense} (torch._int_mm only takes int8 activations, which "
                    f"weight-only quantization does not make)")
        if device_type == "cpu" and dtype == "bfloat16":
            return ("optimum-quanto int4 weights on CPU, bfloat16 activations: TinyGemm "
                    "(torch._weight_int4pack_mm_for_cpu, fused) for layers quantized in groups "
                    f"of 128 (input width a multiple of 128; output width not a multiple of 16: "
                    f"kept in full precision); else {dense}")
        if device_type == "cuda" and dtype == "float16":
            return ("optimum-quanto int4 weights on CUDA, float16 activations: quanto's AWQ "
                    "int4 GEMM (quanto_cuda extension, compute capability 8+, groups of 128, "
                    f"at least 128 outputs); else {dense}")
        return f"optimum-quanto int4 weights on {device_type.upper()}, {dtype}: {dense}"

    def kernel_transit(self, device_type: str, dtype: str = "float32",
                       settings: VariantSettings | None = None) -> KernelTransit:
        """Dequantizing paths hold a full-size copy of the weight per call (measured on a
        4096 x 4096 Linear, float32: int8 8 bytes per weight, the int values cast and then
        scaled; int4 10.5, unpacked first); the fused bfloat16 CPU kernels hold no weight copy,
        and 4 bytes per output feature, the output included (the kernel's result, then its
        rescaled copy; measured on 768 x 3072 and 3072 x 768, 8,192 tokens, int8 and int4)."""
        if device_type == "cpu" and dtype == "bfloat16":
            return KernelTransit(per_output=4.0)
        size = element_bytes(dtype)
        return KernelTransit(per_weight=2 * size if self.bits == 8 else 2 * size + 2)

    def prepare_machine(self, device_type: str) -> None:
        # int4 weights are packed: unpacking them is a C++ (or CUDA) extension that
        # optimum-quanto compiles on first use into its package's build/ folder (about 28 s on
        # the 2-core CPU machine) and reuses afterwards
        if self.bits != 4:
            return
        from optimum.quanto.library.extensions import get_extension, is_extension_available

        name = {"cpu": "quanto_cpp", "cuda": "quanto_cuda"}.get(device_type, "")
        if is_extension_available(name):
            get_extension(name).lib  # noqa: B018 - the property builds and loads it


for _bits in (8, 4):
    VARIANTS.add(f"quanto-int{_bits}", Quanto(
        name=f"quanto-int{_bits}", bits=_bits, qtype=f"qint{_bits}",
        quantizes=("vision", "projector", "text"), packages=("optimum.quanto",),
        save="torch.save",
        description=f"optimum-quanto int{_bits} weight-only quantization of every Linear but "
                    f"the head",
    ))
