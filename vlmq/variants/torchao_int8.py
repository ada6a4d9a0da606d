"""torchao int8 weight-only quantization (per-row scales), applied after loading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.errors import VlmqError
from vlmq.variants.base import VARIANTS, Variant, VariantSettings
from vlmq.variants.targets import target_linears


@dataclass(frozen=True)
class TorchaoInt8(Variant):
    """Replaces the weights of the targeted Linear layers by torchao int8 tensor subclasses.
    Other torchao recipes subclass it and return their own config from `torchao_config`."""

    def torchao_config(self) -> Any:
        from torchao.quantization import Int8WeightOnlyConfig

        return Int8WeightOnlyConfig()

    def post_load(
        self, model: Any, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> None:
        from torchao.quantization import quantize_

        names = set(target_linears(model, parts, self.quantizes, settings.keep_modules))
        if not names:
            raise VlmqError(f"variant {self.name!r} found no Linear layer in parts "
                            f"{', '.join(self.quantizes)} of this model; check the part paths")
        quantize_(model, self.torchao_config(), filter_fn=lambda _m, fqn: fqn in names)


VARIANTS.add("torchao-int8", TorchaoInt8(
    name="torchao-int8", bits=8, quantizes=("vision", "projector", "text"),
    packages=("torchao",), options={"save": "torch.save"},
    description="torchao int8 weight-only quantization of every Linear but the head",
))
