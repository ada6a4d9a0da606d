"""optimum-quanto weight-only int8 / int4 (per-channel int8; int4 with per-group scales and
shifts), applied after loading to the targeted Linear layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.variants.base import VARIANTS, Variant, VariantSettings


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


for _bits in (8, 4):
    VARIANTS.add(f"quanto-int{_bits}", Quanto(
        name=f"quanto-int{_bits}", bits=_bits, qtype=f"qint{_bits}",
        quantizes=("vision", "projector", "text"), packages=("optimum.quanto",),
        save="torch.save",
        description=f"optimum-quanto int{_bits} weight-only quantization of every Linear but "
                    f"the head",
    ))
