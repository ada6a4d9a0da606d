"""Peak memory over a block of work: CUDA allocator peaks plus the process's device memory as
the driver reports it (NVML, what nvidia-smi shows), or the process's peak RSS on CPU.

On CPU a process's RSS does not fall when Python or torch frees memory that the C allocator
keeps for reuse: a later block could then run in those pages and show no growth at all. So a
block starts by handing freed heap back to the kernel (`release_freed_memory`), and its start
level is measured after that.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vlmq.devices import is_cuda

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class MemoryResult:
    """Bytes. On CUDA `peak_bytes` is max allocated and `reserved_bytes` max reserved by the
    caching allocator; on CPU `peak_bytes` is the whole process's peak resident set (model
    weights included) during the block. `start_bytes` is the same quantity at the start."""

    device: str
    method: str  # cuda-max-allocated, vmhwm, psutil-sampling or unavailable
    peak_bytes: int | None
    reserved_bytes: int | None = None
    start_bytes: int | None = None
    note: str = ""
    end_bytes: int | None = None  # the same quantity as start_bytes, at the end of the block
    # CUDA: this process's memory on the device at the end of the block, as NVML reports it
    # (the caching allocator's reservations, the CUDA context and kernels' workspaces)
    device_process_bytes: int | None = None

    @property
    def growth_bytes(self) -> int | None:
        """How far the peak rose above the level at the start of the block."""
        if self.peak_bytes is None or self.start_bytes is None:
            return None
        return self.peak_bytes - self.start_bytes

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "growth_bytes": self.growth_bytes}


def _status_kb(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def current_rss() -> int | None:
    return _status_kb("VmRSS")


def freeze_long_lived_objects() -> None:
    """Move every object alive now (imported modules, the session's settings) out of the
    garbage collector's reach (gc.freeze), so the collection `release_freed_memory` runs
    before each measurement walks only what was made since: 0.35 s per collection after
    importing transformers and datasets, about nothing after the freeze. Call it before any
    model is loaded: objects frozen are never collected, so a model frozen with them would
    never be freed."""
    gc.collect()
    gc.freeze()


@functools.cache
def _glibc(function: str) -> Any:
    """glibc's `function` through ctypes, or None where there is no glibc (looked up once:
    find_library runs ldconfig)."""
    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name), function, None) if name else None


def release_freed_memory() -> None:
    """Collect garbage and let glibc return freed heap pages to the kernel (malloc_trim), so
    that RSS measured next counts live memory only. A no-op where there is no glibc."""
    gc.collect()
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)


_M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
# Where glibc's self-raising threshold tops out on 64-bit: what it is set back to after loading,
# so that running keeps serving its temporaries from the heap as it would have.
_MMAP_THRESHOLD_CEILING = 32 << 20


def running_mmap_threshold() -> int | None:
    """glibc's mmap threshold while the model runs, None without glibc: the process's own
    `MALLOC_MMAP_THRESHOLD_` (glibc's environment setting) when given, else 32 MiB, where
    glibc's rule puts a process that has loaded a model. Below it, a running model's
    temporaries come from the heap, whose freed chunks stay resident: the peak RSS then holds
    what the allocator kept, which depends on the order of earlier allocations (SmolVLM-256M
    int8 over 17 tiles: a call grew by 1,943-2,150 MiB at 32 MiB and 1,000 MiB at 128 KiB).
    Mapping the temporaries instead faults them in on every call: the prefill ran 1.3-1.5x
    slower, so vlmq does not (2026-12-07, reports/cpu/real-scale/kernel-transit/threshold.md)."""
    if _glibc("mallopt") is None:
        return None
    value = os.environ.get("MALLOC_MMAP_THRESHOLD_", "").strip()
    return int(value) if value.isdigit() else _MMAP_THRESHOLD_CEILING


@contextlib.contextmanager
def large_frees_returned(threshold_bytes: int = 128 << 10) -> Iterator[None]:
    """Within the block, glibc maps every allocation of `threshold_bytes` or more on its own,
    so freeing it returns it to the kernel at once. Otherwise glibc raises its mmap threshold
    to the size of each mapped block freed (up to 32 MiB): a float32 checkpoint's weights and
    a quantizer's per-weight temporaries (a ViT-L's are 16 MiB) then land in the heap, where
    what loading frees stays resident, and a quantized load peaked at twice its float32
    model. The default is glibc's own starting threshold: at 1 MiB the smaller blocks of each
    weight's quantization (scales, states, their repacked copies) still stayed in the heap,
    and a 4-bit load peaked 40-410 MiB higher (ViT-L/16 nf4 342 against 240 MiB of growth,
    SmolVLM-Instruct nf4 2,181-2,380 against 1,967; the load took 0-5% longer:
    reports/cpu/real-scale/kernel-transit/load-threshold.md). A no-op where there is no
    glibc."""
    mallopt = _glibc("mallopt")
    if mallopt is None:
        yield
        return
    mallopt(_M_MMAP_THRESHOLD, threshold_bytes)
    try:
        yield
    finally:
        mallopt(_M_MMAP_THRESHOLD, running_mmap_threshold() or _MMAP_THRESHOLD_CEILING)
        # Setting a threshold turns glibc's self-raising rule off, which would also have raised
        # the trim threshold to twice the mmap threshold; left at its 128 KiB default, every
        # decoding step's temporaries were returned to the kernel and faulted back in (llava-tiny
        # generation 1.2-1.5x slower, 2026-12-06).
        mallopt(_M_TRIM_THRESHOLD, 2 * _MMAP_THRESHOLD_CEILING)


def device_process_bytes(device: str) -> int | None:
    """This process's memory on the CUDA device as the driver (NVML) reports it; None where
    NVML (nvidia-ml-py) is missing or does not list the process (some containers)."""
    try:
        import pynvml
        import torch

        index = torch.device(device).index
        index = torch.cuda.current_device() if index is None else index
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no NVML here: the figure is simply absent
        return None
    try:
        bus = torch.cuda.get_device_properties(index).pci_bus_id
        handle = pynvml.nvmlDeviceGetHandleByPciBusId(bus)
        procs = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
        used = [p.usedGpuMemory for p in procs if p.pid == os.getpid()]
        return int(used[0]) if used and used[0] is not None else None
    except Exception:  # noqa: BLE001 - an older driver or a masked PID namespace
        return None
    finally:
        pynvml.nvmlShutdown()


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS; False where not allowed."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    hwm, rss = _status_kb("VmHWM"), _status_kb("VmRSS")
    # The reset worked only if the mark came down to (about) the current RSS.
    return hwm is not None and rss is not None and hwm <= rss + 4 * 1024 * 1024


class _RssSampler:
    """Fallback: a thread that polls the process RSS with psutil and keeps the maximum.
    It can miss a spike shorter than the interval."""

    def __init__(self, interval_s: float = 0.005) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval = interval_s
        self._stop = threading.Event()
        self.start_bytes = self._process.memory_info().rss
        self.peak = self.start_bytes
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)
        return self.peak


class PeakMemory:
    """Context manager: `with PeakMemory(device) as mem: work()`, then `mem.result`."""

    def __init__(self, device: Any = "cpu") -> None:
        self.device = str(device)
        self.result: MemoryResult | None = None
        self._method = "unavailable"
        self._start: int | None = None
        self._sampler: _RssSampler | None = None
        self._note = ""
        self._earlier_peak: int | None = None  # before work set aside (`aside`)

    def __enter__(self) -> PeakMemory:
        self._earlier_peak = None
        if is_cuda(self.device):
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()  # the block's reservations, not earlier blocks' leftovers
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            self._method = "cuda-max-allocated"
            return self
        release_freed_memory()
        if reset_peak_rss():
            self._start = _status_kb("VmRSS")
            self._method = "vmhwm"
        else:
            try:
                self._sampler = _RssSampler()
            except ImportError:
                self._note = ("peak RSS not measured: /proc/self/clear_refs is not writable "
                              "and psutil is not installed")
            else:
                self._start = self._sampler.start_bytes
                self._method = "psutil-sampling"
                self._note = ("/proc/self/clear_refs not writable: RSS sampled every 5 ms "
                              "(short spikes can be missed)")
        return self

    def restart(self) -> None:
        """Measure from now on, as if the block started here (what ran before is handed back
        first): the load of a variant after its calibration."""
        self.__exit__()
        self.__enter__()

    @contextlib.contextmanager
    def aside(self) -> Iterator[None]:
        """Work inside this is not the block's: its peak is left out, and what it freed is
        handed back before measuring goes on (the peak so far is kept). The disk size of a
        loaded variant is measured by saving it: vlmq's measuring, not the load's work. What a
        save holds depends on the backend's serialization (ViT-L, 2026-12-07: 2 MiB for int8;
        for nf4 15 MiB as loading runs it, before the CPU repack, and 512 MiB after it, when
        saving must undo the repack)."""
        start = self._start
        self.__exit__()
        before = self.result
        try:
            yield
        finally:
            self.__enter__()
            self._start = start
            self._earlier_peak = before.peak_bytes if before is not None else None

    def __exit__(self, *exc: object) -> None:
        peak: int | None = None
        reserved: int | None = None
        end: int | None = None
        on_device: int | None = None
        if self._method == "cuda-max-allocated":
            import torch

            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
            reserved = torch.cuda.max_memory_reserved(self.device)
            end = torch.cuda.memory_allocated(self.device)
            on_device = device_process_bytes(self.device)
        else:
            if self._method == "vmhwm":
                peak = _status_kb("VmHWM")
            elif self._sampler is not None:
                peak = self._sampler.stop()
            # the level the block leaves behind, its freed transit handed back first (a post-load
            # quantizer frees the full-precision weights, but glibc keeps their pages)
            release_freed_memory()
            end = current_rss()
        if peak is not None and self._earlier_peak is not None:
            peak = max(peak, self._earlier_peak)
        self.result = MemoryResult(device=self.device, method=self._method, peak_bytes=peak,
                                   reserved_bytes=reserved, start_bytes=self._start,
                                   note=self._note, end_bytes=end,
                                   device_process_bytes=on_device)
