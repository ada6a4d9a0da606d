"""Facts about the machine a run measured on, and CPU settings that make timings sound."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

from vlmq.errors import VlmqError
from vlmq.measure.memory import running_mmap_threshold

PACKAGES = ("torch", "transformers", "accelerate", "bitsandbytes", "torchao", "codecarbon")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what platform reports."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def flush_denormal_active() -> bool:
    """Probe, not a remembered flag: with denormals flushed, a denormal float times 1 is 0."""
    import torch

    return bool((torch.tensor([1e-39], dtype=torch.float32) * 1.0).item() == 0.0)


def prepare_cpu(threads: int) -> dict[str, Any]:
    """Flush denormals (random fp32 weights otherwise hit slow denormal arithmetic) and fix the
    torch thread count (0 = every usable core). Returns what was set."""
    import torch

    if threads < 0:
        raise VlmqError(f"threads must be 0 (all cores) or a positive count, not {threads}")
    n = threads or usable_cores()
    supported = torch.set_flush_denormal(True)
    torch.set_num_threads(n)
    return {"threads": torch.get_num_threads(), "flush_denormal": bool(supported)}


def _gpu_info(torch: Any) -> dict[str, Any]:
    if not torch.cuda.is_available():
        return {"cuda_available": False, "gpu_name": None, "gpu_driver": None}
    index = torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    info: dict[str, Any] = {
        "cuda_available": True, "gpu_name": props.name, "gpu_count": torch.cuda.device_count(),
        "gpu_memory_bytes": props.total_memory,
        "gpu_capability": f"{props.major}.{props.minor}",
        "cudnn_version": torch.backends.cudnn.version(),
    }
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            driver = pynvml.nvmlSystemGetDriverVersion()
            info["gpu_driver"] = driver.decode() if isinstance(driver, bytes) else driver
        finally:
            pynvml.nvmlShutdown()
    except Exception as exc:  # noqa: BLE001 - NVML missing or refused: report, do not fail
        info["gpu_driver"] = None
        info["gpu_driver_note"] = f"NVML unavailable: {type(exc).__name__}"
    return info


def machine_info() -> dict[str, Any]:
    """Versions and hardware for pytest-benchmark's machine_info and the run folder."""
    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "cpu_model": cpu_model(), "cpu_cores_usable": usable_cores(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "flush_denormal": flush_denormal_active(),
        "quantized_engine": torch.backends.quantized.engine,
        # what CPU peak memory figures depend on beside the model (vlmq.measure.memory)
        "glibc_mmap_threshold_running": running_mmap_threshold(),
    }
    info.update({f"{p}_version": _version(p) for p in PACKAGES})
    info["torch_version"] = torch.__version__  # includes the +cpu / +cuXXX build tag
    info["cuda_version"] = torch.version.cuda  # the CUDA torch was built with; None on CPU builds
    info.update(_gpu_info(torch))
    return info
