"""Refuse a variant that will not fit before loading it (vlmq.measure.estimate does the sums).

A run that loads a model larger than the memory it has is ended by the kernel's OOM killer
(exit 137, no message, no result) or by CUDA's allocator half-way through. Checking the estimate
first turns that into one line: a skip naming the estimate and the limit, and, for a full-
precision variant (the baseline), the precision that would fit.
"""

from __future__ import annotations

from typing import Any

from vlmq.checkpoint import checkpoint_dtype
from vlmq.devices import device_type, dtype_name
from vlmq.errors import UnavailableError
from vlmq.measure.estimate import (
    MemoryEstimate,
    ModelShape,
    VariantCost,
    Workload,
    available_ram_bytes,
    does_not_fit,
    estimate,
)
from vlmq.placement import max_memory_map, size_bytes
from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS


class DoesNotFit(UnavailableError):
    """The estimate of a variant's peak memory exceeds what the device has."""


def variant_cost(variant: Variant, config: Any, dtype: Any, device_type: str,
                 settings: VariantSettings | None = None) -> VariantCost:
    """The estimator's view of `variant` loading with its unquantized parts in `dtype` (a
    torch dtype) on `device_type`: its bits, what loading casts, what its kernel holds."""
    # a calibrated recipe runs its dequantized weights in the model's dtype: the dense model
    bits = 16 if variant.calibrates else variant.checkpoint_bits(config)
    quantizes = variant.quantizes if variant.bits != 0 else ("vision", "projector", "text")
    name = dtype_name(dtype)
    return VariantCost(name=variant.name, bits=bits + variant.scale_bits(bits) if bits < 16
                       else 0.0, quantizes=quantizes if bits < 16 else (),
                       base_bytes=dtype.itemsize, after_load=not variant.spreads,
                       casts=checkpoint_dtype(config) != name,
                       quantize_bytes=variant.quantize_transit(device_type),
                       kernel=variant.kernel_transit(device_type, name, settings),
                       calibrates=variant.calibrates)


def memory_limit(device: str, max_memory: dict[str, str] | None) -> tuple[int | None, str]:
    """(bytes the model may add, what that is): `--vlmq-max-memory` for the device when given,
    else available RAM on CPU or free memory on the GPU."""
    import torch

    limits = max_memory_map(max_memory or {})
    if device.startswith("cuda"):
        index = torch.device(device).index or 0
        if index in limits:
            return size_bytes(limits[index]), f"--vlmq-max-memory {index}"
        free, _total = torch.cuda.mem_get_info(index)
        return free, f"{device} (free memory)"
    if "cpu" in limits:
        return size_bytes(limits["cpu"]), "--vlmq-max-memory cpu"
    return available_ram_bytes(), "this machine (available RAM)"


def check_fit(variant: Variant, shape: ModelShape, config: Any, dtype: Any, device: str,
              max_memory: dict[str, str] | None, work: Workload,
              settings: VariantSettings | None = None) -> MemoryEstimate:
    """The variant's estimate; DoesNotFit when it exceeds the device's limit."""
    est = estimate(shape, variant_cost(variant, config, dtype, device_type(device), settings),
                   work)
    limit, where = memory_limit(device, max_memory)
    problem = does_not_fit(est, limit, where)
    if problem is None:
        return est
    if not variant.quantizes and limit is not None:
        problem += _baseline_that_fits(shape, config, device, limit, work)
    raise DoesNotFit(problem)


def _baseline_that_fits(shape: ModelShape, config: Any, device: str, limit: int,
                        work: Workload) -> str:
    """'; as the baseline, --vlmq-baseline bf16 fits (about N MiB)', or what to do instead."""
    kind = device_type(device)
    for candidate in VARIANTS.values():
        if candidate.quantizes or candidate.bits == 0 or candidate.unavailable_reason(kind):
            continue
        dtype = candidate.base_dtype(kind)
        est = estimate(shape, variant_cost(candidate, config, dtype, kind), work)
        if est.peak_bytes <= limit:
            return (f"; as the baseline, --vlmq-baseline {candidate.name} would fit (about "
                    f"{est.peak_mib:,.0f} MiB)")
    return "; no full-precision baseline fits: run quantized variants only (a synthetic model " \
           "needs no baseline) or on a larger device"
