"""A quantization variant: a small recipe plus the function that applies it.

Adding a backend is ONE file plus ONE entry-point line:

    # my_package/my_backend.py (or vlmq/variants/my_backend.py)
    from vlmq.variants.base import Variant
    from vlmq.variants.registry import VARIANTS

    @dataclass(frozen=True)
    class MyBackend(Variant):
        quantized_module_types = ("my_lib.nn.QLinear",)   # its quantized Linear classes
        def post_load(self, model, parts, settings, device_type): ...  # or load_kwargs
    VARIANTS.add("my-int8", MyBackend(name="my-int8", bits=8,
                                      quantizes=("vision", "projector", "text"),
                                      packages=("my_lib",), save="torch.save"))

    # pyproject.toml (vlmq's own, or the outside package's)
    [project.entry-points."vlmq.variants"]
    my_backend = "my_package.my_backend"

The entry point names the module; importing it registers its recipes (vlmq.registry reads
the `vlmq.variants` group on first use; a pytest conftest can also add variants through the
`pytest_vlmq_register` hook). Everything vlmq must know about the backend lives on the recipe:
- which devices and packages it needs (`devices`, `packages`): "can this run here?" is answered
  in one place (`unavailable_reason`) and becomes a skip with the reason;
- how it is applied (`load_kwargs` for from_pretrained, `post_load` after loading);
- which modules it leaves quantized (`quantized_module_types`, or `quantized_linear` when the
  module class stays nn.Linear and only the weight changes): vlmq.variants.inspect counts them
  per part by asking every registered recipe (vlmq.variants.registry.backends);
- the storage it keeps outside parameters and buffers (`count_bytes`), which
  vlmq.measure.footprint adds to the model's bytes;
- whether and how it saves (`save`);
- per-machine one-time work before its first call (`prepare_machine`).
"Every variant" runs in a fixed order: bits descending (full precision down to 4 bits), then
the order the recipes were registered in (vlmq's entry points first, by entry-point name).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, ClassVar

from vlmq.devices import DEVICE_TYPES
from vlmq.errors import VlmqError
from vlmq.measure.estimate import QUANTIZE_TRANSIT_BYTES, KernelTransit
from vlmq.measure.footprint import SavedSize, saved_bytes
from vlmq.variants.inspect import check_counts
from vlmq.variants.settings import VariantSettings
from vlmq.variants.targets import target_linears


@dataclass(frozen=True)
class Prepared:
    """What a recipe made from the model before loading it (a calibrated checkpoint)."""

    folder: str
    calibration_s: float | None  # 0 when a cached checkpoint was reused; None: no calibration
    notes: dict[str, str]


@dataclass(frozen=True)
class Variant:
    """A recipe. Subclasses implement `load_kwargs` and/or `post_load`."""

    name: str
    # bits per weight of the quantized parts (32/16/8/4; 0: read from the checkpoint, see
    # checkpoint_bits): picks the default gate and the place in "every variant"
    bits: int
    quantizes: tuple[str, ...] = ()  # parts whose Linear layers it replaces
    devices: tuple[str, ...] = DEVICE_TYPES
    packages: tuple[str, ...] = ()
    # how bytes on disk are measured: save_pretrained (safetensors), torch.save (the state_dict,
    # for tensor subclasses safetensors cannot write) or "" (cannot be saved)
    save: str = "save_pretrained"
    # in the main job's set (--vlmq-variants empty): one recipe per backend and precision, the
    # seeds' included; `--vlmq-variants all` adds the others
    by_default: bool = True
    description: str = ""

    # Qualified names ("package.module.Class") of the module classes this backend puts in
    # place of nn.Linear; a module whose class or any base class is named here is counted
    # as quantized. Names, not classes, so that asking never imports the backend.
    quantized_module_types: ClassVar[tuple[str, ...]] = ()

    def unavailable_reason(self, device_type: str) -> str | None:
        """Why this variant cannot run on `device_type` here, or None when it can."""
        if device_type not in self.devices:
            return (f"variant {self.name!r} runs on {'/'.join(self.devices)} only, "
                    f"not on {device_type}")
        for pkg in self.packages:
            try:
                found = importlib.util.find_spec(pkg) is not None
            except ModuleNotFoundError:  # a dotted name whose parent package is missing
                found = False
            if not found:
                return f"variant {self.name!r} needs the {pkg!r} package, which is not installed"
            try:  # installed is not enough: a build for another torch can fail to import
                importlib.import_module(pkg)
            except Exception as exc:  # noqa: BLE001 - any import failure means "cannot run here"
                why = " ".join(str(exc).split())[:160]
                return f"variant {self.name!r}: the {pkg!r} package fails to import ({why})"
        return None

    @property
    def calibrates(self) -> bool:
        """Whether preparing it calibrates the full-precision model before loading."""
        return False

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

    def finish_load(self, model: Any, device_type: str) -> None:
        """The last step of loading, after the disk size is measured (the bitsandbytes 4-bit
        CPU repack, which saving would undo)."""

    def config_load_kwargs(self, config: Any, device_type: str) -> dict[str, Any]:
        """More from_pretrained arguments that depend on the checkpoint's config."""
        return {}

    def loading_problem(self, variant_id: str, info: dict[str, Any]) -> str | None:
        """A one-line refusal when from_pretrained's loading info (missing_keys ...) shows the
        weights this recipe depends on did not load, else None."""
        return None

    def before_load(self, source: str, adapter: Any, settings: VariantSettings) -> Prepared | None:
        """Work done from the model's files before loading it, timed apart from loading
        (calibration); None for recipes that need none."""
        return None

    def apply_prepared(self, model: Any, prepared: Prepared) -> None:
        """Put what `before_load` made into the loaded model."""

    def kernel(self, device_type: str, dtype: str = "float32",
               settings: VariantSettings | None = None) -> str:
        """The kernel the quantized layers run on `device_type` with activations in `dtype`
        (a torch dtype name), written into every entry's `notes.kernel`; "" for a recipe that
        quantizes nothing."""
        return ""

    def kernel_transit(self, device_type: str, dtype: str = "float32",
                       settings: VariantSettings | None = None) -> KernelTransit:
        """What that kernel holds while a layer runs, for the memory estimate (vlmq.fit);
        nothing beyond a dense layer unless the recipe says."""
        return KernelTransit()

    def quantize_transit(self, device_type: str) -> float:
        """Bytes per weight element a load-time quantizer holds while it quantizes the largest
        weight (for the memory estimate); bitsandbytes' nf4 figure unless the recipe says."""
        return QUANTIZE_TRANSIT_BYTES

    def quantized_linear(self, module: Any) -> bool:
        """True when `module` is a Linear layer this backend stored quantized."""
        return bool(self.quantized_module_types) and any(
            f"{c.__module__}.{c.__qualname__}" in self.quantized_module_types
            for c in type(module).__mro__
        )

    def count_bytes(self, module: Any, add: Any) -> None:
        """Call `add(tensor)` for every tensor this backend keeps on `module` outside its
        parameters and buffers (scales, quantization state); footprint counts each storage
        once. Tensor subclasses that flatten into inner tensors need nothing here."""

    def prepare_machine(self, device_type: str) -> None:
        """One-time work per machine the backend needs before its first call (building a C++
        extension): scripts/setup.sh runs it (`python -m vlmq.variants.prepare`), and loading
        runs it again outside load_time_s (a no-op once done), so no task's first call pays it.
        """

    def model_unavailable_reason(self, config: Any) -> str | None:
        """Why this variant cannot load the checkpoint whose transformers config is `config`."""
        return None

    def unsupported_layers(self, model: Any, parts: dict[str, list[str]],
                           device_type: str) -> list[str]:
        """Full paths of Linear layers in the parts it quantizes whose shape its kernels cannot
        run on this device; loading keeps them in full precision, counted and noted."""
        return []

    def scale_bits(self, bits: int) -> float:
        """Bits per quantized weight its scales add (for the memory estimate): group-wise
        4-bit recipes keep a 16-bit scale and zero per 64 weights; 8-bit ones a scale per row."""
        return 0.5 if 0 < bits <= 4 else 0.0

    def checkpoint_bits(self, config: Any) -> int:
        """Bits per weight of the loaded model (the recipe's own `bits` unless it reads them
        from the checkpoint)."""
        return self.bits

    def check_counts(self, variant_id: str, counts: dict[str, dict[str, int]],
                     kept: int = 0) -> str | None:
        """A message when the quantized Linear counts per part are not what this recipe
        promises (exactly the parts in `quantizes`), else None."""
        return check_counts(variant_id, self.quantizes, counts, kept=kept)

    def disk_size(self, model: Any, source: str) -> SavedSize:
        """Bytes on disk of the loaded model, by `save`."""
        return saved_bytes(model, self)

    def target_linears(self, model: Any, parts: dict[str, list[str]],
                       settings: VariantSettings) -> list[str]:
        """Full paths of the Linear layers a post-load quantizer replaces (see
        `vlmq.variants.targets`); an error when the parts it names hold none."""
        names = target_linears(model, parts, self.quantizes, settings.keep_modules)
        if not names:
            raise VlmqError(f"variant {self.name!r} found no Linear layer in parts "
                            f"{', '.join(self.quantizes)} of this model; check the part paths")
        return names

    def skip_modules(self, parts: dict[str, list[str]], settings: VariantSettings) -> list[str]:
        """Full module paths of every part this variant leaves alone, plus kept modules."""
        skip = [p for part, paths in parts.items() if part not in self.quantizes for p in paths]
        return skip + list(settings.keep_modules)


