"""GPTQ: int4 weights in groups of 128 (llm-compressor's W4A16 preset), each layer's rounding
error compensated on the not-yet-quantized columns with second-order statistics of its inputs on
calibration samples; the language model's decoder only. Calibrated by llm-compressor in its own
venv (vlmq.variants.llmcompressed)."""

from __future__ import annotations

from vlmq.variants.llmcompressed import LlmCompressed
from vlmq.variants.registry import VARIANTS

VARIANTS.add("gptq-w4a16", LlmCompressed(
    name="gptq-w4a16", bits=4, scheme="W4A16", algorithm="gptq", by_default=False,
    description="GPTQ int4 weights (groups of 128) on calibration samples, by llm-compressor in "
                "its own venv; language model only; compressed-tensors export",
))
