"""optimum-quanto weight-only int8 / int4 (per-channel int8; int4 with per-group scales and
shifts), applied after loading to the targeted Linear layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS


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
