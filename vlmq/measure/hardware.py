"""The device's limits, measured once per process: memory bandwidth and dense matmul peak.

A decode step of a large model reads every weight of the language model once, so its time
cannot go below (weight bytes / memory bandwidth); a prefill does about 2 x parameters x
tokens floating-point operations, so it cannot go below (FLOPs / matmul peak). vlmq reports
each entry's measured time next to these bounds and the ratio (efficiency: 1.0 = at the limit).

Bandwidth: the best of several device-to-device copies of a large tensor (each copy reads
and writes it: 2 x its bytes). Peak: the best of several square matmuls in the dtype the
baseline runs in (float16 on CUDA, float32 on CPU). Both are measured, not taken from a
spec sheet, so they are what this device reaches here.
"""

from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass
from typing import Any

from vlmq.measure.latency import synchronize


@dataclass(frozen=True)
class HardwareLimits:
    device: str
    bandwidth_bytes_per_s: float
    matmul_flops_per_s: float
    matmul_dtype: str
    copy_bytes: int
    matmul_size: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _best_time(fn: Any, device: str, repeats: int) -> float:
    fn()  # warm-up: allocation, kernel selection
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return best


@functools.cache
def hardware_limits(device: str) -> HardwareLimits:
    """Bandwidth and matmul peak of `device` ('cpu', 'cuda', 'cuda:N'), measured on first use."""
    import torch

    on_gpu = device.startswith("cuda")
    copy_bytes = (1024 if on_gpu else 256) * 1024**2
    src = torch.empty(copy_bytes, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    copy_s = _best_time(functools.partial(dst.copy_, src), device, repeats=10 if on_gpu else 5)
    del src, dst  # free the copy buffers before the matmul operands
    dtype = torch.float16 if on_gpu else torch.float32
    n = 8192 if on_gpu else 1024
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    mm_s = _best_time(functools.partial(torch.matmul, a, b), device, repeats=10 if on_gpu else 3)
    return HardwareLimits(
        device=device, bandwidth_bytes_per_s=2 * copy_bytes / copy_s,
        matmul_flops_per_s=2 * n**3 / mm_s, matmul_dtype=str(dtype).replace("torch.", ""),
        copy_bytes=copy_bytes, matmul_size=n,
    )


def decode_weight_bytes(model: Any, parts: dict[str, list[str]]) -> int:
    """Bytes a decode step reads: the language model and head, less the input embedding table
    (a step looks up one row of it; a tied head is counted once, as the head)."""
    from vlmq.measure.footprint import model_bytes

    paths = [p for part in ("text", "head") for p in parts.get(part, [])]
    total = sum(model_bytes(model.get_submodule(p)) for p in paths)
    embed = model.get_input_embeddings()
    return total - (model_bytes(embed) if embed is not None else 0)


def decode_and_prefill_work(loaded: Any, first_call: int) -> tuple[int, float | None]:
    """(bytes a decode step reads, FLOPs of a batch's prefill) for a loaded generative model;
    the prefill from the prompt tokens of its calls since `first_call` (median)."""
    import statistics

    tokens = loaded.prompt_tokens[first_call:]
    flops = (2.0 * loaded.model.num_parameters() * statistics.median(tokens)) if tokens else None
    return decode_weight_bytes(loaded.model, loaded.parts), flops
