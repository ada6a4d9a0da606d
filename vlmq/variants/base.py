"""A quantization variant: a small recipe plus the function that applies it.

Each family of variants lives in one file under `vlmq/variants/` and registers its
recipes in VARIANTS. A recipe declares which devices and packages it needs, so
"can this run here?" is answered in one place (`unavailable_reason`).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from vlmq.registry import Registry


@dataclass(frozen=True)
class VariantSettings:
    """Knobs shared by the variant families (from RunConfig)."""

    int8_threshold: float = 6.0
    bnb_4bit_compute_dtype: str = "auto"
    bnb_4bit_double_quant: bool = True
    # Module paths kept in full precision on top of the variant's own choice
    # (the layer-wise sensitivity modifier fills this).
    keep_modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variant:
    """A recipe. Subclasses implement `load_kwargs` and/or `post_load`."""

    name: str
    bits: int  # bits per weight of the quantized parts (32/16/8/4): picks the default gate
    quantizes: tuple[str, ...] = ()  # parts whose Linear layers it replaces
    devices: tuple[str, ...] = ("cpu", "cuda")
    packages: tuple[str, ...] = ()
    serializable: bool = True  # save_pretrained works, so bytes on disk can be measured
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def unavailable_reason(self, device_type: str) -> str | None:
        """Why this variant cannot run on `device_type` here, or None when it can."""
        if device_type not in self.devices:
            return (f"variant {self.name!r} runs on {'/'.join(self.devices)} only, "
                    f"not on {device_type}")
        for pkg in self.packages:
            if importlib.util.find_spec(pkg) is None:
                return f"variant {self.name!r} needs the {pkg!r} package, which is not installed"
            try:  # installed is not enough: a build for another torch can fail to import
                importlib.import_module(pkg)
            except Exception as exc:  # noqa: BLE001 - any import failure means "cannot run here"
                why = " ".join(str(exc).split())[:160]
                return f"variant {self.name!r}: the {pkg!r} package fails to import ({why})"
        return None

    @property
    def spreads(self) -> bool:
        """Whether a device map can spread this variant over devices: true for recipes that
        from_pretrained applies while loading; a post-load quantizer would meet weights that
        accelerate offloaded (meta tensors) and cannot."""
        return type(self).post_load is Variant.post_load

    def base_dtype(self, device_type: str) -> Any:
        """dtype of everything the variant does not quantize."""
        import torch

        return torch.float16 if device_type == "cuda" else torch.float32

    def load_kwargs(
        self, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> dict[str, Any]:
        """Keyword arguments for from_pretrained (dtype, quantization_config ...)."""
        return {"dtype": self.base_dtype(device_type)}

    def post_load(
        self, model: Any, parts: dict[str, list[str]], settings: VariantSettings, device_type: str
    ) -> None:
        """Changes applied to the loaded model (post-training quantizers)."""

    def skip_modules(self, parts: dict[str, list[str]], settings: VariantSettings) -> list[str]:
        """Full module paths of every part this variant leaves alone, plus kept modules."""
        skip = [p for part, paths in parts.items() if part not in self.quantizes for p in paths]
        return skip + list(settings.keep_modules)


VARIANTS: Registry[Variant] = Registry("variant")
