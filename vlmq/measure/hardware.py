"""The device's limits, measured once per process: memory bandwidth and dense matmul peak.

A decode step of a large model reads every weight of the language model once, so its time
cannot go below (weight bytes / memory bandwidth); a prefill does about 2 x parameters x
tokens floating-point operations, so it cannot go below (FLOPs / matmul peak). vlmq reports
each entry's measured time next to these bounds and the ratio (efficiency: 1.0 = at the limit).

Bandwidth: copies of a 256 MiB buffer (each copy reads and writes it: 2 x its bytes), after
filling the source (a source never written reads the kernel's shared zero page). A shared
machine's bandwidth moves in regimes of seconds: on this 2-core VM, bursts of copies measured
27-31 GB/s most of the time and 35-41 GB/s for spells of 1-3 s (2026-12-07,
docs/real-scale.md), so the best of one burst differed 1.4x between processes. The probe is
therefore BANDWIDTH_BURSTS bursts spread over about three seconds: each burst's best copy (other
jobs only slow a copy down), and their median (a spell of either regime does not decide it);
the lowest and highest burst are kept beside it (`bandwidth_range_bytes_per_s`).
Peak: the best of several square matmuls in each floating dtype the device runs models in
(float32 and bfloat16 on CPU, float16 and bfloat16 on CUDA; another dtype, such as float16 on
a CPU, the first time an unquantized variant computes in it). An unquantized variant's prefill
bound uses the peak of its own dtype; a quantized one's the fastest measured, since its kernel
may compute in another. Best-of
rather than mean: other jobs on a shared machine only ever slow a repeat down. Both are
measured, not taken from a spec sheet, so they are what this device reaches here. A model that
beats a bound shows the probe was slowed throughout (one LLaVA-7B process measured half the
bfloat16 peak that processes an hour earlier measured): `remeasured_limits` probes again and
keeps each figure's best over every probe of the process.

The prefill's work counts each part on its own input: the vision encoder's parameters times
the image patches, the language model's (less its embedding table, a lookup) times the prompt
tokens, image tokens included.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from vlmq.devices import dtype_name, is_cuda
from vlmq.measure.footprint import SideStorage, model_bytes
from vlmq.measure.latency import Timer


@dataclass(frozen=True)
class HardwareLimits:
    device: str
    bandwidth_bytes_per_s: float
    matmul_flops_per_s: float
    matmul_dtype: str
    copy_bytes: int
    matmul_size: int
    matmul_peaks: dict[str, float] | None = None  # FLOP/s per dtype measured
    probes: int = 1  # measurements this process made; each figure is the best of them
    # the lowest and highest burst of the bandwidth probe (its median is the figure)
    bandwidth_range_bytes_per_s: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _best_time(fn: Any, device: str, repeats: int) -> float:
    fn()  # warm-up: allocation, kernel selection
    best = float("inf")
    for _ in range(repeats):
        with Timer(device) as timer:
            fn()
        best = min(best, timer.seconds)
    return best


_MEASURED: dict[str, HardwareLimits] = {}


def hardware_limits(device: str) -> HardwareLimits:
    """Bandwidth and matmul peak of `device` ('cpu', 'cuda', 'cuda:N'), measured on first use."""
    if device not in _MEASURED:
        _MEASURED[device] = _measure(device)
    return _MEASURED[device]


def remeasured_limits(device: str) -> HardwareLimits:
    """Probe `device` again and keep, figure by figure, the best of this and every earlier
    probe of the process (a bound a model beat was measured low)."""
    old, new = hardware_limits(device), _measure(device)
    old_peaks, new_peaks = old.matmul_peaks or {}, new.matmul_peaks or {}
    peaks = {k: max(new_peaks.get(k, 0.0), old_peaks.get(k, 0.0))
             for k in {**old_peaks, **new_peaks}}
    fastest = max(peaks, key=peaks.__getitem__)
    _MEASURED[device] = dataclasses.replace(
        new, bandwidth_bytes_per_s=max(old.bandwidth_bytes_per_s, new.bandwidth_bytes_per_s),
        matmul_flops_per_s=peaks[fastest], matmul_dtype=fastest, matmul_peaks=peaks,
        probes=old.probes + 1,
        bandwidth_range_bytes_per_s=_wider(old.bandwidth_range_bytes_per_s,
                                           new.bandwidth_range_bytes_per_s))
    return _MEASURED[device]


def _wider(a: tuple[float, float] | None,
           b: tuple[float, float] | None) -> tuple[float, float] | None:
    """The range spanning both (either may be missing)."""
    if a is None or b is None:
        return a or b
    return (min(a[0], b[0]), max(a[1], b[1]))


def limits_for(device: str, dtype: str | None) -> dict[str, Any]:
    """The device's limits with the matmul peak of `dtype` (a torch dtype's name: what an
    unquantized variant computes in; measured the first time it is asked for) as the prefill
    bound's peak; None: the fastest dtype measured (a quantized kernel's own may be faster
    than any dense one)."""
    import torch

    limits = hardware_limits(device)
    peaks = dict(limits.matmul_peaks or {})
    if dtype is None:
        return limits.to_dict()
    if dtype not in peaks:
        n = limits.matmul_size
        peaks[dtype] = _matmul_peak(device, getattr(torch, dtype), n)
        limits = _MEASURED[device] = dataclasses.replace(limits, matmul_peaks=peaks)
    return {**limits.to_dict(), "matmul_flops_per_s": peaks[dtype], "matmul_dtype": dtype}


def _matmul_peak(device: str, dtype: Any, n: int) -> float:
    """FLOP/s of the best of 10 square n x n products in `dtype`, through `linear` (x W^T),
    the op a model's layers run: on this CPU `torch.matmul` in float16 has no fast path
    (1-3 GFLOP/s) where `linear` reaches 40."""
    import torch

    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    return 2 * n**3 / _best_time(functools.partial(torch.nn.functional.linear, a, b), device,
                                 repeats=10)


BANDWIDTH_BURSTS = 9
BURST_COPIES = 5
BURST_GAP_S = 0.25


def _bandwidth_bursts(device: str, copy_bytes: int) -> list[float]:
    """Bytes per second of each burst's best copy, bursts BURST_GAP_S apart."""
    import torch

    src = torch.ones(copy_bytes, dtype=torch.uint8, device=device)  # written: real pages
    dst = torch.empty_like(src)
    copy = functools.partial(dst.copy_, src)
    rates = []
    for burst in range(BANDWIDTH_BURSTS):
        if burst:
            time.sleep(BURST_GAP_S)
        rates.append(2 * copy_bytes / _best_time(copy, device, repeats=BURST_COPIES))
    return rates


def _measure(device: str) -> HardwareLimits:
    import torch

    on_gpu = is_cuda(device)
    copy_bytes = (1024 if on_gpu else 256) * 1024**2
    bursts = _bandwidth_bursts(device, copy_bytes)
    n = 8192 if on_gpu else 1024
    peaks = {dtype_name(dtype): _matmul_peak(device, dtype, n)
             for dtype in ((torch.float16, torch.bfloat16) if on_gpu
                           else (torch.float32, torch.bfloat16))}
    fastest = max(peaks, key=peaks.__getitem__)
    return HardwareLimits(
        device=device, bandwidth_bytes_per_s=statistics.median(bursts),
        matmul_flops_per_s=peaks[fastest], matmul_dtype=fastest,
        copy_bytes=copy_bytes, matmul_size=n, matmul_peaks=peaks,
        bandwidth_range_bytes_per_s=(min(bursts), max(bursts)),
    )


def decode_weight_bytes(model: Any, parts: dict[str, list[str]],
                        side_storage: Sequence[SideStorage]) -> int:
    """Bytes a decode step reads: the language model and head, less the input embedding table
    (a step looks up one row of it; a tied head is counted once, as the head)."""
    paths = [p for part in ("text", "head") for p in parts.get(part, [])]
    total = sum(model_bytes(model.get_submodule(p), side_storage) for p in paths)
    embed = model.get_input_embeddings()
    return total - (model_bytes(embed, side_storage) if embed is not None else 0)


def image_patches(inputs: Any, config: Any) -> int:
    """Patches a batch's images feed the vision encoder: pixel values over the pixels of one
    patch (channels x patch x patch, x frames for encoders with a temporal patch); 0 without
    images or a vision config."""
    pixels = inputs.get("pixel_values") if hasattr(inputs, "get") else None
    vision = getattr(config, "vision_config", None)
    patch = getattr(vision, "patch_size", None)
    if pixels is None or not patch:
        return 0
    frames = getattr(vision, "temporal_patch_size", 1) or 1
    channels = getattr(vision, "num_channels", 3) or 3
    return int(pixels.numel() // (channels * patch * patch * frames))


def prefill_flops(model: Any, parts: dict[str, list[str]], tokens: float,
                  patches: float) -> float:
    """2 x parameters x inputs, per part: the vision encoder on its patches, the rest of the
    model (projector, language model less its embedding table) on the prompt tokens."""
    def count(paths: list[str]) -> int:  # weights, not storage: 4-bit packs two per byte
        return sum(p.numel() * (2 if type(p).__name__ == "Params4bit" else 1)
                   for path in paths for p in model.get_submodule(path).parameters())

    vision = count(parts.get("vision", []))
    embed = model.get_input_embeddings()
    lookup = embed.weight.numel() if embed is not None else 0
    heads = count(parts.get("head", []))
    # the head runs on the last token only; a tied head is the embedding table, counted once
    rest = model.num_parameters() - vision - lookup - heads
    return 2.0 * (vision * patches + rest * tokens)


def decode_and_prefill_work(loaded: Any, first_call: int) -> tuple[int, float | None]:
    """(bytes a decode step reads, FLOPs of a batch's prefill) for a loaded generative model;
    the bytes as loading counted them, the prefill from the prompt tokens and image patches of
    its calls since `first_call` (medians)."""
    tokens = loaded.prompt_tokens[first_call:]
    patches = loaded.image_patches[first_call:] or [0]
    flops = (prefill_flops(loaded.model, loaded.parts, statistics.median(tokens),
                           statistics.median(patches)) if tokens else None)
    return loaded.decode_bytes, flops
