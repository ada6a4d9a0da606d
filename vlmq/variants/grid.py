"""Whether a dense weight holds quantized values: the check that a checkpoint's quantized layers
really loaded (a layer left newly initialized, or never quantized, holds arbitrary floats).

Read from one row, so it costs nothing on a large model:
- int formats: each group of `group_size` weights (the whole row per channel) takes at most
  2**bits distinct values; a group that short says nothing by its count (an 8-bit row of 192
  random floats has under 256 values too), so there the values must lie on one evenly spaced
  grid: the range is at most 2**bits - 1 of the smallest step (random floats span thousands);
- fp8 (e4m3): every |w| is 2**e * (1 + m/8) * scale, so for one offset c (the scale's) every
  frac(log2|w|) - c is one of the 8 values log2(1 + m/8).
"""

from __future__ import annotations

import math
from typing import Any

# log2 of e4m3's mantissas 1 + m/8: what frac(log2 |w / scale|) can be
_FP8_LOG_MANTISSAS = [math.log2(1 + m / 8) for m in range(8)]
# bf16 rounding of q * scale moves log2 by <= 0.003 (AutoRound keeps bf16 copies); neighbouring
# mantissas are >= 0.09 apart, so a random row passes with odds ~0.16 per value
_LOG_TOLERANCE = 1e-2
# q * scale in fp32 moves each step by a rounding error far below this
_STEP_TOLERANCE = 1e-2


def on_grid(weight: Any, args: dict[str, Any]) -> bool:
    """True when row 0 of `weight` is consistent with compressed-tensors weight `args`
    ({"num_bits", "type", "strategy", "group_size"})."""

    row = weight.detach()[0].float()
    if args.get("type") == "float":
        return _fp8_row(row[row != 0].abs())
    size = args.get("group_size") if args.get("strategy") == "group" else None
    groups = row.split(int(size)) if size else (row,)
    return all(_int_group(g, int(args["num_bits"])) for g in groups)


def _int_group(group: Any, bits: int) -> bool:
    """True when one group's values fit a grid of 2**bits evenly spaced levels."""
    import torch

    values = torch.unique(group)  # sorted
    if values.numel() > 2 ** bits:
        return False
    if group.numel() > 2 ** bits or values.numel() < 2:  # the count decided
        return True
    step = float(values.diff().min())
    return float(values[-1] - values[0]) <= (2 ** bits - 1) * step * (1 + _STEP_TOLERANCE)


def _fp8_row(magnitudes: Any) -> bool:
    """True when the non-zero |w| of a row share one scale on the e4m3 grid."""
    import torch

    if magnitudes.numel() == 0:
        return False
    fractions = torch.log2(magnitudes.double()) % 1
    grid = torch.tensor(_FP8_LOG_MANTISSAS, dtype=torch.float64)
    for mantissa in _FP8_LOG_MANTISSAS:  # the first value's mantissa fixes the offset
        shifted = (fractions - (float(fractions[0]) - mantissa)) % 1
        distance = (shifted[:, None] - grid[None, :]).abs()
        distance = torch.minimum(distance, 1 - distance).min(dim=1).values
        if bool((distance <= _LOG_TOLERANCE).all()):
            return True
    return False
