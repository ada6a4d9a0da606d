"""FP8 W8A8 with static activation scales: float8 e4m3 weights (one scale per output channel)
and inputs (one scale per layer, calibrated on samples); the language model's decoder only.
AutoRound's FP8_STATIC scheme with round-to-nearest weights.

Tuned and exported in the model's own dtype (`amp=False`): what is measured is what ships.
AutoRound's default on a CPU casts the model to bf16, computes the static input scales and the
weights' dequantized values from unrounded scales, then exports the scales rounded to bf16; the
checkpoint then held other values than the in-process variant ran on, and 2 of 192 greedy
outputs differed (reports/cpu/calibrated/fp8-agreement-why.txt). Production FP8 checkpoints
(llm-compressor's compressed-tensors `float-quantized`) store their scales in the model's dtype,
and vLLM loads `weight_scale` and `input_scale` into float32 parameters, so scales in a float32
model's float32 are loaded exactly; for a bf16 model the scales are bf16 either way."""

from __future__ import annotations

from vlmq.variants.calibrated import Calibrated
from vlmq.variants.registry import VARIANTS

VARIANTS.add("fp8-static", Calibrated(
    name="fp8-static", bits=8, scheme="FP8_STATIC", algorithm="rtn", activations="fp8 e4m3",
    by_default=False, amp=False,
    description="FP8 (e4m3) weights per channel and inputs with static per-layer scales "
                "calibrated on samples; language model only; compressed-tensors export",
))
