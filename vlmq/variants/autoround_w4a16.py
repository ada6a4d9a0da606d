"""AutoRound (SignRound): int4 weights in groups of 128, rounding and clipping tuned by signed
gradient descent on calibration samples, block by block; the language model's decoder only."""

from __future__ import annotations

from vlmq.variants.calibrated import Calibrated
from vlmq.variants.registry import VARIANTS

# AutoRound's default is 200; 20 keep a CPU calibration of a small model within minutes
ITERATIONS = 20

VARIANTS.add("autoround-w4a16", Calibrated(
    name="autoround-w4a16", bits=4, scheme="W4A16", algorithm="signround", iters=ITERATIONS,
    by_default=False,
    description=f"AutoRound int4 weights (groups of 128), {ITERATIONS} SignRound iterations per "
                f"block on calibration samples; language model only; compressed-tensors export",
))
