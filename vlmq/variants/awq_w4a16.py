"""AWQ: per-channel scales that protect the weights of large activations, searched on
calibration samples, then int4 round-to-nearest in groups of 128 (AutoRound's AWQ
implementation); the language model's decoder only."""

from __future__ import annotations

from vlmq.variants.calibrated import Calibrated
from vlmq.variants.registry import VARIANTS

VARIANTS.add("awq-w4a16", Calibrated(
    name="awq-w4a16", bits=4, scheme="W4A16", algorithm="awq", by_default=False,
    description="AWQ activation-aware scales on calibration samples, then int4 weights (groups "
                "of 128); language model only; compressed-tensors export",
))
