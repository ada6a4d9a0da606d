"""The calibration settings a calibrated variant reads (filled from RunConfig's calibration_*
fields); plain data, no torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# How many rows of each calibration split are read; the samples are drawn from these.
POOL_ROWS = 512


@dataclass(frozen=True)
class CalibrationSettings:
    # task -> dataset spec of a split apart from the evaluated one; tasks not named calibrate on
    # the train split of their default (embedded) set
    sources: tuple[tuple[str, str], ...] = ()
    samples: int = 16  # calibration samples in all, spread evenly over the tasks
    seed: int = 0
    iters: int = 0  # tuning iterations of iterative recipes; 0 = the recipe's own


def calibration_settings(config: Any) -> CalibrationSettings:
    """The calibration settings of a RunConfig."""
    return CalibrationSettings(
        sources=tuple(sorted(config.calibration.items())), samples=config.calibration_samples,
        seed=config.calibration_seed, iters=config.calibration_iters)
