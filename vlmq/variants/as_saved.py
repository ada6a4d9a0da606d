"""`as-saved`: a checkpoint that arrives already quantized (GPTQ, AWQ, compressed-tensors,
bitsandbytes, quanto ...), loaded as it was saved.

transformers reads the `quantization_config` in the checkpoint's config.json and builds the
quantized layers itself, so no config is passed. The full-precision model it came from is a
different checkpoint: give it with `--vlmq-baseline-model` to gate retention against it.
Not part of "every variant": it only applies to checkpoints saved quantized.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmq.variants.base import VARIANTS, Variant

# Module paths of the Linear classes transformers builds for formats vlmq has no variant of
# (GPTQ through gptqmodel, AWQ, compressed-tensors); the other backends' own recipes
# recognize theirs (bitsandbytes, quanto, HQQ, torchao).
SAVED_FORMAT_MODULES = ("gptqmodel.nn_modules.qlinear", "awq.modules.linear",
                        "compressed_tensors.linear")


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

    def quantized_linear(self, module: Any) -> bool:
        return any(c.__module__.startswith(SAVED_FORMAT_MODULES) for c in type(module).__mro__)

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
        from vlmq.measure.footprint import SavedSize

        folder = Path(source)
        if not folder.is_dir():
            return SavedSize(None, "a hub checkpoint: its files are in the hub cache, not measured")
        files = [f for f in folder.iterdir()
                 if f.suffix in (".safetensors", ".bin") or f.name == "config.json"]
        return SavedSize(sum(f.stat().st_size for f in files),
                         "the checkpoint's weight files and config.json, as saved")

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
