"""SmoothQuant W8A8: activation outliers moved into the weights (per-channel scales, strength
0.8, searched on calibration samples), then GPTQ int8 weights per output channel and int8 inputs
quantized per token at run time (llm-compressor's W8A8 preset and its standard recipe); the
language model's decoder only. Calibrated by llm-compressor in its own venv
(vlmq.variants.llmcompressed)."""

from __future__ import annotations

from vlmq.calibration.llmcompressor import SMOOTHING_STRENGTH
from vlmq.variants.llmcompressed import LlmCompressed
from vlmq.variants.registry import VARIANTS

VARIANTS.add("smoothquant-w8a8", LlmCompressed(
    name="smoothquant-w8a8", bits=8, scheme="W8A8", algorithm="smoothquant+gptq",
    smoothing=SMOOTHING_STRENGTH, activations="int8 per token", by_default=False,
    description="SmoothQuant (strength 0.8) then GPTQ int8 weights per channel and dynamic "
                "int8 inputs per token, by llm-compressor in its own venv; language model only; "
                "compressed-tensors export",
))
