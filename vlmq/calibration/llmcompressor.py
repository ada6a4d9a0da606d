"""llm-compressor recipes for a VLM's language model, and the subprocess that runs them.

The recipe is llm-compressor's own YAML (written as JSON, which YAML reads), built here from the
model's part paths so that the vision tower, the projector and the head stay in full precision,
as production recipes keep them; it is part of the checkpoint's cache key. The calibration runs
in llm-compressor's venv (vlmq.calibration.venv) through vlmq.calibration.llmcompressor_worker.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from vlmq.errors import VlmqError

WORKER = "vlmq.calibration.llmcompressor_worker"
# llm-compressor's default SmoothQuant mappings (Llama, Mistral, Qwen ...): each decoder norm
# and the projections it feeds; vlmq narrows them to the language model's paths
SMOOTHQUANT_MAPPINGS = ((("q_proj", "k_proj", "v_proj"), "input_layernorm"),
                        (("gate_proj", "up_proj"), "post_attention_layernorm"))
SMOOTHING_STRENGTH = 0.8  # llm-compressor's W8A8 example


def _under(paths: tuple[str, ...]) -> str:
    """A regex for a module at or below any of `paths`."""
    return "(?:" + "|".join(re.escape(p) for p in paths) + ")"


def ignore_patterns(candidates: dict[str, tuple[str, ...]],
                    quantizes: tuple[str, ...]) -> list[str]:
    """llm-compressor `ignore` entries for every part the recipe leaves alone (every path
    a part may have, old and new transformers layouts)."""
    return [f"re:^{_under(paths)}(?:\\..*)?$" for part, paths in sorted(candidates.items())
            if part not in quantizes]


def smoothquant_mappings(candidates: dict[str, tuple[str, ...]]) -> list[list[Any]]:
    """SmoothQuant's [balance layers, smooth layer] pairs inside the language model only (a
    VLM's vision tower has q_proj, and Qwen2.5-VL's a gate_proj, which would join the wrong
    norm's set). The text part's paths include a bare `model` for older layouts, so the other
    parts' paths are excluded explicitly."""
    others = tuple(p for part, paths in candidates.items() if part != "text" for p in paths)
    scope = f"^(?!{_under(others)}\\.)" if others else "^"
    under = scope + _under(candidates["text"])
    return [[[f"re:{under}\\..*\\.{b}$" for b in balance], f"re:{under}\\..*\\.{smooth}$"]
            for balance, smooth in SMOOTHQUANT_MAPPINGS]


def recipe(scheme: str, candidates: dict[str, tuple[str, ...]], quantizes: tuple[str, ...],
           smoothing: float = 0.0) -> dict[str, Any]:
    """llm-compressor's recipe: GPTQ with preset `scheme` on the Linear layers of `quantizes`,
    after SmoothQuant when `smoothing` > 0."""
    ignore = ignore_patterns(candidates, quantizes)
    modifiers: dict[str, Any] = {}
    if smoothing:
        modifiers["SmoothQuantModifier"] = {
            "smoothing_strength": smoothing, "ignore": ignore,
            "mappings": smoothquant_mappings(candidates)}
    modifiers["GPTQModifier"] = {"targets": ["Linear"], "scheme": scheme, "ignore": ignore}
    return {"quant_stage": {"quant_modifiers": modifiers}}


def smoothed_patterns(spec: dict[str, Any]) -> list[str]:
    """The regexes of the layers SmoothQuant rescales (their weights change too)."""
    sq = spec["quant_stage"]["quant_modifiers"].get("SmoothQuantModifier")
    return [smooth.removeprefix("re:") for _, smooth in sq["mappings"]] if sq else []


def worker_command(venv_python: Path, job: Path) -> list[str]:
    return [str(venv_python), "-m", WORKER, str(job)]


def worker_env() -> dict[str, str]:
    """The subprocess's environment: this vlmq importable, offline, quiet."""
    root = str(Path(__file__).resolve().parent.parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false"}


def run_worker(venv_python: Path, job: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Run one calibration job in the venv; its result (seconds ...) or a one-line error."""
    job_file = workdir / "job.json"
    job_file.write_text(json.dumps(job, indent=1))
    log = workdir / "llmcompressor.log"
    with log.open("w") as fh:
        done = subprocess.run(worker_command(venv_python, job_file), env=worker_env(),
                              stdout=fh, stderr=subprocess.STDOUT)
    result = Path(job["result"])
    if done.returncode != 0 or not result.is_file():
        lines = [ln.strip() for ln in log.read_text().splitlines() if ln.strip()]
        errors = [ln for ln in lines if "Error" in ln] or lines or ["no output"]
        raise VlmqError(f"llm-compressor's calibration failed (exit {done.returncode}): "
                        f"{errors[-1][:300]}")
    return json.loads(result.read_text())
