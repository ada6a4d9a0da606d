"""Where and how a session runs its models: the device, the variants' settings, the threads."""

from __future__ import annotations

import dataclasses

from vlmq.calibration.settings import calibration_settings
from vlmq.config import RunConfig
from vlmq.variants.base import VariantSettings


@dataclasses.dataclass(frozen=True)
class Machine:
    """Where and how a session runs its models."""

    device: str
    settings: VariantSettings
    threads: int
    worker: str = ""  # the pytest-xdist worker running this session, if any



def prepare_machine(config: RunConfig, device: str, worker: str = "") -> Machine:
    """Sound CPU measurement (flushed denormals, a fixed thread count, a fixed seed) and the
    variants' settings."""
    import torch

    from vlmq.measure.machine import prepare_cpu

    torch.manual_seed(config.seed)
    threads = prepare_cpu(config.threads)["threads"]
    settings = VariantSettings(
        int8_threshold=config.int8_threshold,
        bnb_4bit_compute_dtype=config.bnb_4bit_compute_dtype,
        bnb_4bit_double_quant=config.bnb_4bit_double_quant,
        calibration=calibration_settings(config),
    )
    return Machine(device, settings, threads, worker)
