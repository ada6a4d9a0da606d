"""Energy of named windows of work: codecarbon (CPU + RAM, offline) and NVIDIA's NVML counter.

A tracker is opened around a task pass and measures only the windows entered through
`window(region)`: the evaluation loop opens one around each model call, "timed" for the timed
rounds and "first_call" for the warm-up, so the energy per sample covers the model calls the
latency covers and a first call's one-time costs are measured apart. codecarbon measures each
window as one of its tasks (`start_task` / `stop_task`); the NVML counter is read at both ends.

Where each figure comes from is recorded, because they differ in kind:
- "codecarbon-rapl": CPU energy read from Intel/AMD RAPL counters (measured);
- "codecarbon-estimate": no RAPL readable, so codecarbon multiplies the CPU's TDP (a guess
  per thread when the model is unknown) by its load: an estimate, not a measurement;
- "nvml-counter": the GPU's own total-energy counter (Volta and newer), which replaces
  codecarbon's GPU share when available.
RAM energy is always codecarbon's per-GB constant.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from vlmq.devices import is_cuda

_WH_PER_KWH = 1000.0
_MJ_PER_WH = 3600.0 * 1000.0  # NVML reports millijoules


@dataclass(frozen=True)
class EnergyResult:
    wh: float | None  # total energy of the windows; None when nothing could measure it
    kg_co2eq: float | None  # wh times the country's carbon intensity (codecarbon's table)
    duration_s: float  # the windows' summed wall time
    source: str  # the sources above joined with "+", "disabled" or "none"
    note: str = ""
    cpu_wh: float | None = None
    ram_wh: float | None = None
    gpu_wh: float | None = None
    windows: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _NvmlCounter:
    """Watt-hours consumed by one GPU since the driver loaded."""

    def __init__(self, device: str) -> None:
        import pynvml
        import torch

        pynvml.nvmlInit()
        self._nvml = pynvml
        index = torch.device(device).index
        index = torch.cuda.current_device() if index is None else index
        self._handle = self._handle_for(index, torch)

    def _handle_for(self, index: int, torch: Any) -> Any:
        # torch numbers the visible GPUs, NVML all of them: match by UUID where possible.
        uuid = str(getattr(torch.cuda.get_device_properties(index), "uuid", "") or "")
        for candidate in (uuid, f"GPU-{uuid}"):
            if not candidate:
                continue
            try:
                return self._nvml.nvmlDeviceGetHandleByUUID(candidate)
            except self._nvml.NVMLError:
                continue
        return self._nvml.nvmlDeviceGetHandleByIndex(index)

    def read_wh(self) -> float:
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / _MJ_PER_WH

    def close(self) -> None:
        self._nvml.nvmlShutdown()


def _codecarbon_source(tracker: Any) -> str:
    """RAPL or TDP estimate, read from codecarbon's detected CPU (private, hence defensive)."""
    for hardware in getattr(tracker, "_hardware", []) or []:
        if type(hardware).__name__ == "CPU":
            mode = str(getattr(hardware, "_mode", ""))
            return "codecarbon-rapl" if "rapl" in mode.lower() else "codecarbon-estimate"
    return "codecarbon-estimate"


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


@dataclass
class _Sums:
    """What a region's windows added up to."""

    seconds: float = 0.0
    windows: int = 0
    cpu_wh: float | None = None
    ram_wh: float | None = None
    gpu_wh: float | None = None  # NVML's counter
    codecarbon_gpu_wh: float | None = None
    kg_per_kwh: float | None = None  # the country's carbon intensity, from codecarbon
    sources: set[str] = field(default_factory=set)


def _plus(total: float | None, x: float | None) -> float | None:
    return x if total is None else total if x is None else total + x


# One codecarbon tracker per process and country: its first task pays about a second of
# hardware detection, later tasks about 4 ms (measured on the 2-core CPU machine)
_CODECARBON: dict[tuple[str, float], Any] = {}


class EnergyTracker:
    """Context manager over a task pass whose `window(region)` blocks are measured:

        with EnergyTracker(device, "USA") as energy:
            with energy.window("timed"):
                work()
        energy.result("timed")

    codecarbon runs offline (no network). Any failure to measure becomes a note in the
    result, never an exception."""

    def __init__(self, device: Any = "cpu", country_iso_code: str = "USA",
                 enabled: bool = True, measure_power_secs: float = 1.0) -> None:
        self.device = str(device)
        self.country_iso_code = country_iso_code
        self.enabled = enabled
        self.measure_power_secs = measure_power_secs
        self._codecarbon: Any = None
        self._nvml: _NvmlCounter | None = None
        self._notes: list[str] = []
        self._sums: dict[str, _Sums] = {}

    def __enter__(self) -> EnergyTracker:
        if self.enabled:
            self._codecarbon = self._open_codecarbon()
            if is_cuda(self.device):
                self._open_nvml()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._nvml is not None:
            self._nvml.close()
            self._nvml = None

    def _open_codecarbon(self) -> Any:
        # codecarbon reads its log level when imported: silence it first.
        os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:
            self._notes.append("CPU/RAM energy not measured: codecarbon is not installed "
                               "(pip install codecarbon)")
            return None
        key = (self.country_iso_code, self.measure_power_secs)
        if key not in _CODECARBON:
            try:
                _CODECARBON[key] = OfflineEmissionsTracker(
                    country_iso_code=self.country_iso_code, project_name="vlmq",
                    save_to_file=False, log_level="error",
                    measure_power_secs=self.measure_power_secs,
                    # other trackers (parallel test runs on a shared machine) must not block us
                    allow_multiple_runs=True,
                )
            except Exception as exc:  # noqa: BLE001 - a tracker that cannot start is a note
                self._notes.append(f"codecarbon could not start: {_one_line(exc)}")
                return None
        return _CODECARBON[key]

    def _open_nvml(self) -> None:
        try:
            self._nvml = _NvmlCounter(self.device)
        except Exception as exc:  # noqa: BLE001 - no NVML, or a GPU without the counter
            self._notes.append(f"NVML energy counter unavailable: {_one_line(exc)}")

    @contextmanager
    def window(self, region: str) -> Iterator[None]:
        """Measure the block as part of `region` (the windows of a region add up)."""
        if not self.enabled:
            yield
            return
        sums = self._sums.setdefault(region, _Sums())
        started = self._start_task()
        gpu_start = self._read_nvml()
        start = time.perf_counter()
        try:
            yield
        finally:
            sums.seconds += time.perf_counter() - start
            sums.windows += 1
            gpu_end = self._read_nvml()
            if gpu_start is not None and gpu_end is not None:
                sums.gpu_wh = _plus(sums.gpu_wh, gpu_end - gpu_start)
                sums.sources.add("nvml-counter")
            if started:
                self._stop_task(sums)

    def _start_task(self) -> bool:
        if self._codecarbon is None:
            return False
        try:
            self._codecarbon.start_task()
        except Exception as exc:  # noqa: BLE001
            self._notes.append(f"codecarbon could not start: {_one_line(exc)}")
            self._codecarbon = None
            return False
        return True

    def _stop_task(self, sums: _Sums) -> None:
        try:
            data = self._codecarbon.stop_task()
        except Exception as exc:  # noqa: BLE001
            self._notes.append(f"codecarbon failed to stop: {_one_line(exc)}")
            self._codecarbon = None
            return
        sums.cpu_wh = _plus(sums.cpu_wh, data.cpu_energy * _WH_PER_KWH)
        sums.ram_wh = _plus(sums.ram_wh, data.ram_energy * _WH_PER_KWH)
        sums.codecarbon_gpu_wh = _plus(sums.codecarbon_gpu_wh, data.gpu_energy * _WH_PER_KWH)
        if data.energy_consumed > 0:
            sums.kg_per_kwh = data.emissions / data.energy_consumed
        sums.sources.add(_codecarbon_source(self._codecarbon))

    def _read_nvml(self) -> float | None:
        if self._nvml is None:
            return None
        try:
            return self._nvml.read_wh()
        except Exception as exc:  # noqa: BLE001
            self._notes.append(f"NVML energy counter failed: {_one_line(exc)}")
            self._nvml = None
            return None

    def result(self, region: str) -> EnergyResult:
        """What the windows of `region` consumed (wh None, with the reason, when unmeasured)."""
        if not self.enabled:
            return EnergyResult(None, None, 0.0, "disabled",
                                "energy measurement is turned off in the settings")
        sums = self._sums.get(region, _Sums())
        notes = list(self._notes)
        gpu_wh = sums.gpu_wh if sums.gpu_wh is not None else sums.codecarbon_gpu_wh or None
        if "nvml-counter" in sums.sources and sums.seconds < sums.windows * 1.0:
            notes.append("NVML's counter updates about every 100 ms: windows under 1 s are "
                         "coarse, their sum is unbiased")
        if "codecarbon-estimate" in sums.sources:
            notes.append("CPU energy is codecarbon's estimate from the CPU's TDP and load "
                         "(no RAPL counter readable here); RAM is a per-GB constant")
        parts = [x for x in (sums.cpu_wh, sums.ram_wh, gpu_wh) if x is not None]
        wh = sum(parts) if parts else None
        kg = None
        if wh is not None and sums.kg_per_kwh is not None:
            kg = wh / _WH_PER_KWH * sums.kg_per_kwh  # NVML's GPU share included
        elif wh is not None and self._codecarbon is None:
            notes.append("GPU energy only; no carbon intensity without codecarbon")
        if not sums.windows:
            notes.append(f"no {region} window was measured")
        source = "+".join(sorted(sums.sources)) or "none"
        return EnergyResult(wh=wh, kg_co2eq=kg, duration_s=sums.seconds, source=source,
                            note="; ".join(notes), cpu_wh=sums.cpu_wh, ram_wh=sums.ram_wh,
                            gpu_wh=gpu_wh, windows=sums.windows)
