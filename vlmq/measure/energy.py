"""Energy of a block of work: codecarbon (CPU + RAM, offline) and NVIDIA's NVML energy counter.

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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

_WH_PER_KWH = 1000.0
_MJ_PER_WH = 3600.0 * 1000.0  # NVML reports millijoules


@dataclass(frozen=True)
class EnergyResult:
    wh: float | None  # total energy of the block; None when nothing could measure it
    kg_co2eq: float | None  # wh times the country's carbon intensity (codecarbon's table)
    duration_s: float
    source: str  # the sources above joined with "+", "disabled" or "none"
    note: str = ""
    cpu_wh: float | None = None
    ram_wh: float | None = None
    gpu_wh: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _NvmlCounter:
    """Millijoules consumed by one GPU since the driver loaded."""

    def __init__(self, device: str) -> None:
        import pynvml
        import torch

        pynvml.nvmlInit()
        self._nvml = pynvml
        index = torch.device(device).index
        index = torch.cuda.current_device() if index is None else index
        self._handle = self._handle_for(index, torch)
        self.start_mj = pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)

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

    def stop_wh(self) -> float:
        end_mj = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        self._nvml.nvmlShutdown()
        return (end_mj - self.start_mj) / _MJ_PER_WH


def _codecarbon_source(tracker: Any) -> str:
    """RAPL or TDP estimate, read from codecarbon's detected CPU (private, hence defensive)."""
    for hardware in getattr(tracker, "_hardware", []) or []:
        if type(hardware).__name__ == "CPU":
            mode = str(getattr(hardware, "_mode", ""))
            return "codecarbon-rapl" if "rapl" in mode.lower() else "codecarbon-estimate"
    return "codecarbon-estimate"


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


class EnergyTracker:
    """Context manager: `with EnergyTracker(device, "USA", run_dir) as e: work()`, then
    `e.result`. codecarbon appends its emissions.csv row to `output_dir` (no network).
    Any failure to measure becomes a note in the result, never an exception."""

    def __init__(self, device: Any = "cpu", country_iso_code: str = "USA",
                 output_dir: str | Path | None = None, enabled: bool = True,
                 measure_power_secs: float = 1.0) -> None:
        self.device = str(device)
        self.country_iso_code = country_iso_code
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.enabled = enabled
        self.measure_power_secs = measure_power_secs
        self.result: EnergyResult | None = None
        self._codecarbon: Any = None
        self._nvml: _NvmlCounter | None = None
        self._notes: list[str] = []
        self._start = 0.0

    def __enter__(self) -> EnergyTracker:
        if self.enabled:
            self._start_codecarbon()
            if self.device.startswith("cuda"):
                self._start_nvml()
        self._start = time.perf_counter()
        return self

    def _start_codecarbon(self) -> None:
        # codecarbon reads its log level when imported: silence it first.
        os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:
            self._notes.append("CPU/RAM energy not measured: codecarbon is not installed "
                               "(pip install codecarbon)")
            return
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        try:
            tracker = OfflineEmissionsTracker(
                country_iso_code=self.country_iso_code, project_name="vlmq",
                output_dir=str(self.output_dir) if self.output_dir else ".",
                save_to_file=self.output_dir is not None, log_level="error",
                measure_power_secs=self.measure_power_secs,
                # other trackers (parallel test runs on a shared machine) must not block us
                allow_multiple_runs=True,
            )
            tracker.start()
        except Exception as exc:  # noqa: BLE001 - a tracker that cannot start is a note
            self._notes.append(f"codecarbon could not start: {_one_line(exc)}")
            return
        self._codecarbon = tracker

    def _start_nvml(self) -> None:
        try:
            self._nvml = _NvmlCounter(self.device)
        except Exception as exc:  # noqa: BLE001 - no NVML, or a GPU without the counter
            self._notes.append(f"NVML energy counter unavailable: {_one_line(exc)}")

    def __exit__(self, *exc: object) -> None:
        duration = time.perf_counter() - self._start
        if not self.enabled:
            self.result = EnergyResult(None, None, duration, "disabled",
                                       "energy measurement is turned off in the settings")
            return
        gpu_wh = self._stop_nvml()
        cpu_wh = ram_wh = cc_gpu_wh = kg = None
        intensity: float | None = None
        sources: list[str] = []
        if self._codecarbon is not None:
            try:
                kg = self._codecarbon.stop()
                data = self._codecarbon.final_emissions_data
                cpu_wh = data.cpu_energy * _WH_PER_KWH
                ram_wh = data.ram_energy * _WH_PER_KWH
                cc_gpu_wh = data.gpu_energy * _WH_PER_KWH
                if data.energy_consumed > 0 and kg is not None:
                    intensity = kg / data.energy_consumed  # kg per kWh
                sources.append(_codecarbon_source(self._codecarbon))
            except Exception as exc:  # noqa: BLE001
                self._notes.append(f"codecarbon failed to stop: {_one_line(exc)}")
                kg = None
        if gpu_wh is not None:
            sources.append("nvml-counter")
            if duration < 1.0:
                self._notes.append("NVML's counter updates about every 100 ms: windows under "
                                   "1 s are coarse")
        elif cc_gpu_wh:
            gpu_wh = cc_gpu_wh  # codecarbon's own GPU reading when NVML was not ours to read
        if "codecarbon-estimate" in sources:
            self._notes.append("CPU energy is codecarbon's estimate from the CPU's TDP and load "
                               "(no RAPL counter readable here); RAM is a per-GB constant")
        parts = [x for x in (cpu_wh, ram_wh, gpu_wh) if x is not None]
        wh = sum(parts) if parts else None
        if wh is not None and intensity is not None:
            kg = wh / _WH_PER_KWH * intensity
        elif wh is not None and self._codecarbon is None:
            self._notes.append("GPU energy only; no carbon intensity without codecarbon")
        self.result = EnergyResult(
            wh=wh, kg_co2eq=kg, duration_s=duration, source="+".join(sources) or "none",
            note="; ".join(self._notes), cpu_wh=cpu_wh, ram_wh=ram_wh, gpu_wh=gpu_wh,
        )

    def _stop_nvml(self) -> float | None:
        if self._nvml is None:
            return None
        try:
            return self._nvml.stop_wh()
        except Exception as exc:  # noqa: BLE001
            self._notes.append(f"NVML energy counter failed: {_one_line(exc)}")
            return None
