"""FP8 W8A8 with static activation scales: float8 e4m3 weights (one scale per output channel)
and inputs (one scale per layer, calibrated on samples); the language model's decoder only.
AutoRound's FP8_STATIC scheme with round-to-nearest weights."""

from __future__ import annotations

from vlmq.variants.calibrated import Calibrated
from vlmq.variants.registry import VARIANTS

VARIANTS.add("fp8-static", Calibrated(
    name="fp8-static", bits=8, scheme="FP8_STATIC", algorithm="rtn", activations="fp8 e4m3",
    by_default=False,
    description="FP8 (e4m3) weights per channel and inputs with static per-layer scales "
                "calibrated on samples; language model only; compressed-tensors export",
))
