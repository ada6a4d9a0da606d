"""`as-saved`: a checkpoint that arrives already quantized (GPTQ, AWQ, compressed-tensors,
bitsandbytes, quanto ...), loaded as it was saved.

transformers reads the `quantization_config` in the checkpoint's config.json and builds the
quantized layers itself, so no config is passed. The full-precision model it came from is a
different checkpoint: give it with `--vlmq-baseline-model` to gate retention against it.
Not part of "every variant": it only applies to checkpoints saved quantized.

A compressed-tensors checkpoint loads with its weights dequantized to dense layers
(`CompressedTensorsConfig(dequantize=True)`): compressed-tensors' own compressed layers do not
run on CPU here, and they miss the layer names transformers 5 renamed. Its quantized layers
are then recognized by their values (vlmq.variants.grid), and a checkpoint whose weights did
not load (reported missing, so newly initialized) is refused with one line instead of scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmq.errors import VlmqError
from vlmq.variants.base import Prepared, Variant, VariantSettings
from vlmq.variants.registry import VARIANTS

# Module paths of the Linear classes transformers builds for formats vlmq has no variant of
# (GPTQ through gptqmodel, AWQ, compressed-tensors); the other backends' own recipes
# recognize theirs (bitsandbytes, quanto, HQQ, torchao).
SAVED_FORMAT_MODULES = ("gptqmodel.nn_modules.qlinear", "awq.modules.linear",
                        "compressed_tensors.linear")
COMPRESSED_TENSORS = "compressed-tensors"
# set on each dense Linear whose loaded weight is on its compressed-tensors quantization grid
DEQUANTIZED_MARK = "vlmq_dequantized"


def checkpoint_files_size(folder: Path) -> Any:
    """The checkpoint's own files (weights and config), as saved (a SavedSize)."""
    from vlmq.measure.footprint import SavedSize

    if not folder.is_dir():
        return SavedSize(None, "a hub checkpoint: its files are in the hub cache, not measured")
    files = [f for f in folder.iterdir()
             if f.suffix in (".safetensors", ".bin") or f.name == "config.json"]
    return SavedSize(sum(f.stat().st_size for f in files),
                     "the checkpoint's weight files and config.json, as saved")


def static_fp8_inputs(group: dict[str, Any]) -> bool:
    """Whether a config group quantizes inputs to FP8 with static (calibrated) scales."""
    act = group.get("input_activations") or {}
    return act.get("type") == "float" and act.get("num_bits") == 8 and not act.get("dynamic")


def _canonical(name: str) -> str:
    """A module path without its `model` / `language_model` wrappers, which transformers 5
    renamed between checkpoints and modules (`language_model.model.layers.0` is now
    `model.language_model.layers.0`)."""
    return ".".join(p for p in name.split(".") if p not in ("model", "language_model"))


def apply_input_scales(model: Any, folder: Path) -> None:
    """Quantize the inputs of each Linear with a static `input_scale` in the checkpoint."""
    from safetensors import safe_open

    from vlmq.variants.act_quant import quantize_inputs_fp8

    modules = {_canonical(n): m for n, m in model.named_modules()}
    for path in sorted(folder.glob("*.safetensors")):
        with safe_open(str(path), "pt") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open has no __iter__
                if key.endswith(".input_scale"):
                    module = modules.get(_canonical(key.removesuffix(".input_scale")))
                    if module is None:
                        raise VlmqError(f"as-saved: {key} in {path.name} matches no module of "
                                        f"the model")
                    quantize_inputs_fp8(module, f.get_tensor(key))


def dynamic_int8_inputs(group: dict[str, Any]) -> bool:
    """Whether a config group quantizes inputs to int8 per token at run time (W8A8 int8)."""
    act = group.get("input_activations") or {}
    return (act.get("type") == "int" and act.get("num_bits") == 8 and bool(act.get("dynamic"))
            and act.get("strategy") == "token")


def weight_groups(qc: dict[str, Any]) -> list[dict[str, Any]]:
    """The compressed-tensors config groups that quantize weights."""
    return [g for g in (qc.get("config_groups") or {}).values() if g.get("weights")]


def quantization_config(config: Any) -> dict[str, Any] | None:
    """The checkpoint's quantization_config as a plain dict, or None."""
    qc = getattr(config, "quantization_config", None)
    if qc is None:
        return None
    return qc if isinstance(qc, dict) else qc.to_dict()


def saved_bits(qc: dict[str, Any]) -> int:
    """Bits per weight a quantization_config declares; 0 when it does not say."""
    if qc.get("load_in_8bit"):
        return 8
    if qc.get("load_in_4bit"):
        return 4
    for key in ("bits", "nbits", "w_bit"):
        if isinstance(qc.get(key), int):
            return qc[key]
    weights = str(qc.get("weights", ""))  # quanto: "int8", "int4", "float8" ...
    digits = "".join(ch for ch in weights if ch.isdigit())
    if digits:
        return int(digits)
    for group in (qc.get("config_groups") or {}).values():  # compressed-tensors
        bits = (group.get("weights") or {}).get("num_bits")
        if isinstance(bits, int):
            return bits
    return 0


@dataclass(frozen=True)
class AsSaved(Variant):
    """Loads with no quantization_config; checks that the checkpoint is quantized at all."""

    def finish_load(self, model: Any, device_type: str) -> None:
        """A bitsandbytes 4-bit checkpoint runs the kernel the nf4 variant runs: its first
        call's work (bias casts, repack) is done at load the same way (vlmq.variants.bnb_4bit)."""
        import importlib.util

        if importlib.util.find_spec("bitsandbytes") is not None:
            from vlmq.variants.bnb_4bit import first_call_work_at_load

            first_call_work_at_load(model, device_type)

    def quantized_linear(self, module: Any) -> bool:
        return getattr(module, DEQUANTIZED_MARK, False) or any(
            c.__module__.startswith(SAVED_FORMAT_MODULES) for c in type(module).__mro__)

    def model_unavailable_reason(self, config: Any) -> str | None:
        if quantization_config(config) is None:
            return (f"variant {self.name!r} loads checkpoints saved quantized, and this one has "
                    f"no quantization_config in its config.json")
        return None

    def checkpoint_bits(self, config: Any) -> int:
        qc = quantization_config(config)
        return saved_bits(qc) if qc else self.bits

    def disk_size(self, model: Any, source: str) -> Any:
        """The checkpoint's own files (weights and config), as it was saved: re-saving a loaded
        checkpoint measures the saver, not the artefact that ships."""
        return checkpoint_files_size(Path(source))

    def config_load_kwargs(self, config: Any, device_type: str) -> dict[str, Any]:
        qc = quantization_config(config) or {}
        if qc.get("quant_method") != COMPRESSED_TENSORS:
            return {}
        from transformers import CompressedTensorsConfig

        return {"quantization_config": CompressedTensorsConfig(dequantize=True)}

    def loading_problem(self, variant_id: str, info: dict[str, Any]) -> str | None:
        missing = sorted(info.get("missing_keys") or []) + \
            sorted(str(k[0]) if isinstance(k, tuple) else str(k)
                   for k in info.get("mismatched_keys") or [])
        if missing:
            return (f"variant {variant_id!r}: {len(missing)} weights of the checkpoint did not "
                    f"load (missing or mismatched, left newly initialized), e.g. "
                    f"{', '.join(missing[:3])}; refusing to score a model that is partly noise")
        return None

    def before_load(self, source: str, adapter: Any, settings: VariantSettings) -> Prepared | None:
        from vlmq.models.base import read_config

        qc = quantization_config(read_config(source)) or {}
        if qc.get("quant_method") != COMPRESSED_TENSORS:
            return Prepared(source, None, {"kernel": (
                f"the layers transformers' {qc.get('quant_method', 'unnamed')} integration "
                f"builds from the saved checkpoint; vlmq does not name their kernel")})
        return Prepared(source, None, {"kernel": (
            "compressed-tensors weights dequantized to dense layers at load "
            "(CompressedTensorsConfig(dequantize=True)); static FP8 input scales or dynamic "
            "int8 per-token inputs, if any, simulated; latency and memory are the dense "
            "model's")})

    def apply_prepared(self, model: Any, prepared: Prepared) -> None:
        import torch.nn as nn

        from vlmq.models.base import read_config
        from vlmq.variants.act_quant import quantize_inputs_int8_per_token
        from vlmq.variants.grid import on_grid

        qc = quantization_config(read_config(prepared.folder)) or {}
        if qc.get("quant_method") != COMPRESSED_TENSORS:
            return
        groups = weight_groups(qc)
        for module in model.modules():
            if type(module) is not nn.Linear:
                continue
            group = next((g for g in groups if on_grid(module.weight, g["weights"])), None)
            if group is not None:
                setattr(module, DEQUANTIZED_MARK, True)
                if dynamic_int8_inputs(group):  # the kernel would quantize its inputs per token
                    quantize_inputs_int8_per_token(module)
        if any(static_fp8_inputs(g) for g in (qc.get("config_groups") or {}).values()):
            apply_input_scales(model, Path(prepared.folder))

    def check_counts(self, variant_id: str, counts: dict[str, dict[str, int]],
                     kept: int = 0) -> str | None:
        # The checkpoint decided which parts it quantized; only "nothing at all" is wrong.
        if not any(c["quantized"] for c in counts.values()):
            return (f"variant {variant_id!r}: the checkpoint declares a quantization_config but "
                    f"no Linear layer loaded quantized (is its backend installed?): {counts}")
        return None


VARIANTS.add("as-saved", AsSaved(
    name="as-saved", bits=0, by_default=False,
    description="a checkpoint already quantized, loaded with the quantization_config it was "
                "saved with",
))
