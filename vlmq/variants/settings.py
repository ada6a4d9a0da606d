"""The knobs shared by the variant families, taken from the run's settings, and the values
they allow (the run's settings validate against these)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vlmq.calibration.settings import CalibrationSettings
from vlmq.errors import VlmqError

# 4-bit compute dtypes; "auto" is float16 on CUDA and float32 on CPU (vlmq.variants.bnb_4bit)
COMPUTE_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class VariantSettings:
    """Knobs shared by the variant families (from RunConfig)."""

    int8_threshold: float = 6.0
    bnb_4bit_compute_dtype: str = "auto"
    bnb_4bit_double_quant: bool = True
    # Module paths kept in full precision on top of the variant's own choice
    # (the layer-wise sensitivity modifier fills this).
    keep_modules: tuple[str, ...] = ()
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)

    def __post_init__(self) -> None:
        if self.bnb_4bit_compute_dtype not in COMPUTE_DTYPES:
            raise VlmqError(f"bnb_4bit_compute_dtype {self.bnb_4bit_compute_dtype!r} is not one "
                            f"of {', '.join(COMPUTE_DTYPES)}; pick one of those")
