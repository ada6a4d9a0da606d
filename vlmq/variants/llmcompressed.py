"""Calibrated recipes run by llm-compressor (GPTQ, SmoothQuant) in its own venv.

Like every calibrated variant (vlmq.variants.calibrated): the calibration samples, the cache and
`calibration_s` are shared; what differs is who calibrates. The main environment prepares the
calibration batches with its processor, a subprocess in llm-compressor's venv
(vlmq.calibration.venv) runs the recipe and writes the compressed-tensors checkpoint plus the
weights it left in memory; this variant loads those into the full-precision model, and
`as-saved` loads the checkpoint. See vlmq/variants/gptq_w4a16.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmq.errors import VlmqError
from vlmq.variants.base import Prepared, VariantSettings
from vlmq.variants.calibrated import (
    CACHE_LAYOUT,
    CALIBRATED_MARK,
    IN_PROCESS_FILE,
    Calibrated,
    in_process_tensors,
)

WORK_FOLDER = "vlmq"  # beside IN_PROCESS_FILE: the job, the worker's log and result


@dataclass(frozen=True)
class LlmCompressed(Calibrated):
    """A GPTQ recipe with llm-compressor's preset `scheme`, after SmoothQuant when `smoothing`
    is above 0; `activations` "int8 per token" when the scheme quantizes inputs dynamically."""

    smoothing: float = 0.0
    packages: tuple[str, ...] = ("compressed_tensors",)  # the main env's side: loading

    def unavailable_reason(self, device_type: str) -> str | None:
        from vlmq.calibration import venv

        reason = super().unavailable_reason(device_type)
        if reason is None and (absent := venv.absent_reason(venv.folder())):
            return f"variant {self.name!r}: {absent}"
        return reason

    def recipe(self, settings: VariantSettings, adapter: Any) -> dict[str, Any]:
        from vlmq.calibration.llmcompressor import recipe

        return {"name": self.name, "scheme": self.scheme, "algorithm": self.algorithm,
                "iters": 0, "seed": settings.calibration.seed, "layout": CACHE_LAYOUT,
                "llmcompressor": recipe(self.scheme, adapter.part_candidates, self.quantizes,
                                        smoothing=self.smoothing)}

    def tool_versions(self) -> dict[str, str]:
        from vlmq.calibration.venv import tool_versions

        return tool_versions()

    def _calibrate(self, source: str, adapter: Any, samples: list[Any],
                   recipe: dict[str, Any], out: Path) -> float:
        """Prepare the batches here, calibrate in the venv; the seconds llm-compressor took."""
        import torch

        from vlmq.calibration import venv
        from vlmq.calibration.cache import local_folder
        from vlmq.calibration.data import calibration_batches
        from vlmq.calibration.llmcompressor import run_worker, smoothed_patterns

        work = out / WORK_FOLDER
        work.mkdir()
        processor = adapter.load_processor(source)
        batches = work / "batches.pt"
        torch.save(calibration_batches(adapter, processor, samples), batches)
        job = {"source": str(local_folder(source).resolve()), "model_class": adapter.model_class,
               "recipe": recipe["llmcompressor"],
               "seed": recipe["seed"], "batches": str(batches),
               "smoothed": smoothed_patterns(recipe["llmcompressor"]),
               "out": str(out), "in_process": str(out / IN_PROCESS_FILE),
               "result": str(work / "result.json")}
        result = run_worker(venv.python(venv.folder()), job, work)
        batches.unlink()
        if not result["quantized"]:
            raise VlmqError(f"variant {self.name!r}: llm-compressor quantized no layer of this "
                            f"model")
        return float(result["seconds"])

    def apply_prepared(self, model: Any, prepared: Prepared) -> None:
        """The Linear weights GPTQ quantized (their inputs through int8 when the scheme says),
        and the norms SmoothQuant rescaled."""
        import torch.nn as nn

        from vlmq.variants.act_quant import quantize_inputs_int8_per_token

        for name, tensor in in_process_tensors(Path(prepared.folder)):
            module = model.get_submodule(name.removesuffix(".weight"))
            self.load_weight(module, name, tensor)
            if isinstance(module, nn.Linear):
                setattr(module, CALIBRATED_MARK, self.scheme)
                if self.activations:
                    quantize_inputs_int8_per_token(module)
