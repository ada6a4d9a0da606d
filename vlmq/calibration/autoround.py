"""Run Intel's AutoRound library on a loaded model and export a compressed-tensors checkpoint.

AutoRound (the `auto-round` package) holds the calibrated algorithms vlmq uses: its sign-gradient
rounding ("signround", iterative), AWQ's activation-aware scales followed by round-to-nearest
("awq"), and static activation scales for FP8 ("rtn" with an activation scheme). Its
`llm_compressor` export writes the compressed-tensors format that vLLM and SGLang load.
By default it quantizes the decoder blocks only: the vision tower, the projector and the head
stay in full precision, as production VLM recipes keep them.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from vlmq.errors import UnavailableError

PACKAGES = ("auto-round", "compressed-tensors")
EXPORT_FORMAT = "llm_compressor"  # AutoRound's name for its compressed-tensors export
WRAPPED = "orig_layer"  # the child holding the layer inside AutoRound's wrappers


def run_autoround(model: Any, processor: Any, batches: list[dict[str, Any]], *, scheme: str,
                  algorithm: str, iters: int, seed: int, amp: bool = True,
                  out: Path, in_process_file: Path) -> int:
    """Quantize `model` with `batches` as calibration data; write the compressed-tensors
    checkpoint (weights, config, processor files) into `out`, and into `in_process_file` the
    quantized layers' weights as AutoRound left them in memory (dequantized) and their static
    input scales, by parameter name. Returns how many layers it quantized. `amp` False keeps
    the model in its own dtype (AutoRound's default casts it to bf16 on a CPU, and its export
    then stores the scales in bf16)."""
    from auto_round import AutoRound
    from safetensors.torch import save_file

    seqlen = max(int(b["input_ids"].shape[1]) for b in batches)
    options: dict[str, Any] = {"iters": iters} if algorithm == "signround" else \
        {"alg_configs": algorithm}
    rounder = AutoRound(model, processor.tokenizer, processor=processor, scheme=scheme,
                        dataset=batches, nsamples=len(batches), seqlen=seqlen, batch_size=1,
                        seed=seed, amp=amp, **options)
    try:
        quantized, _ = rounder.quantize()
    except ValueError as exc:  # AWQ pairs each Linear with the norm before it, per model class
        if "no layer mappings" not in str(exc):
            raise
        raise UnavailableError(f"AutoRound's {algorithm} has no layer mappings for "
                               f"{type(model).__name__} (it smooths each Linear through the "
                               f"norm before it); use another calibrated variant") from exc
    in_process = _in_process(quantized)
    if in_process:
        in_process_file.parent.mkdir(parents=True, exist_ok=True)
        save_file(in_process, str(in_process_file))
    staging = out / "autoround"
    rounder.save_quantized(str(staging), format=EXPORT_FORMAT)
    # AutoRound may write into a subfolder named after the model: lift its files into `out`
    written = next(p.parent for p in sorted(staging.rglob("config.json")))
    for f in written.iterdir():
        shutil.move(str(f), out / f.name)
    shutil.rmtree(staging)
    return len(in_process)


def _in_process(quantized: Any) -> dict[str, Any]:
    """The weights AutoRound left quantized-dequantized in place (it tags every layer it
    quantized with its bit width), not copies: they are saved before the export packs them, and
    a copy of every Linear beside the float32 model would double calibration's peak
    (Qwen2.5-VL-3B: 15 GB + 12 GB on a 24 GB machine)."""
    in_process = {}
    for path, module in quantized.named_modules():
        # with activation schemes AutoRound still wraps each layer: name it as the model does
        name = path.removesuffix(f".{WRAPPED}")
        if getattr(module, "bits", 16) < 16 and hasattr(module, "weight"):
            in_process[f"{name}.weight"] = module.weight.detach().contiguous()
            if hasattr(module, "act_scale"):  # a static activation scheme's calibrated scale
                in_process[f"{name}.input_scale"] = module.act_scale.detach().float().reshape(1)
    return in_process
