"""Turn what the trackers measured into named metrics with units and directions.

Latency comes from the per-sample records (each sample holds its share of its batch's time), so
a resumed run's statistics cover every batch, including those timed before the interruption.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from vlmq.measure.latency import LatencyStats
from vlmq.results.schema import SampleRecord, TaskResult

MIB = 1024 * 1024


def batch_latencies(records: list[SampleRecord]) -> list[tuple[float, float | None, int, int]]:
    """Per batch, in order: (latency s, prefill s, samples, generated tokens)."""
    batches: dict[int, list[SampleRecord]] = defaultdict(list)
    for r in records:
        if not r.error and r.latency_s is not None:
            batches[r.batch].append(r)
    out = []
    for b in sorted(batches):
        recs = batches[b]
        out.append((sum(r.latency_s for r in recs), recs[0].prefill_s, len(recs),
                    sum(r.new_tokens or 0 for r in recs)))
    return out


def add_speed(result: TaskResult, records: list[SampleRecord]) -> None:
    """Latency percentiles per batch, throughput, time to first token and decode speed."""
    batches = batch_latencies(records)
    if not batches:
        result.notes["latency"] = "no sample was timed"
        return
    result.rounds_s = [b[0] for b in batches]
    stats = LatencyStats.from_seconds(result.rounds_s)
    for name in ("p50", "p90", "p95", "p99", "mean", "std"):
        result.add(f"latency_{name}_ms", getattr(stats, f"{name}_ms"), "ms/batch", False,
                   "latency")
    total_s = sum(result.rounds_s)
    samples = sum(b[2] for b in batches)
    tokens = sum(b[3] for b in batches)
    result.add("throughput_samples_per_s", samples / total_s, "samples/s", True, "throughput")
    prefills = [b[1] for b in batches if b[1] is not None]
    if tokens and prefills:
        result.add("throughput_tokens_per_s", tokens / total_s, "tokens/s", True, "throughput")
        # the median: one slow batch (allocator growth, a clock change) must not move it
        result.add("ttft_ms", 1000 * statistics.median(prefills), "ms", False, "latency")
        # decode = every token after the first of each sample, over the time after prefill
        decode_tokens = sum(b[3] - b[2] for b in batches if b[1] is not None)
        decode_s = sum(b[0] - b[1] for b in batches if b[1] is not None)
        if decode_s > 0 and decode_tokens > 0:
            result.add("decode_tokens_per_s", decode_tokens / decode_s, "tokens/s", True,
                       "throughput")


def add_memory(result: TaskResult, memory: Any, loaded: Any) -> None:
    """Peak memory of the measured work, model footprint, size on disk and load time."""
    if memory is not None and memory.peak_bytes is not None:
        result.add("peak_memory_mib", memory.peak_bytes / MIB, "MiB", False, "memory")
        result.notes["peak_memory"] = memory.method + (f"; {memory.note}" if memory.note else "")
        if memory.reserved_bytes is not None:
            result.add("peak_reserved_mib", memory.reserved_bytes / MIB, "MiB", False, "memory")
    result.add("footprint_mib", loaded.footprint_bytes / MIB, "MiB", False, "size")
    disk = loaded.disk_bytes
    result.add("disk_mib", None if disk is None else disk / MIB, "MiB", False, "size")
    if loaded.disk_note:
        result.notes["disk"] = loaded.disk_note
    result.add("load_time_s", loaded.load_time_s, "s", False, "time")


def add_energy(result: TaskResult, energy: Any, samples: int) -> None:
    """Energy and emissions per sample, with where the figure came from."""
    if energy is None or energy.wh is None:
        result.notes["energy"] = getattr(energy, "note", "") or "energy not measured"
        return
    result.add("energy_wh_per_sample", energy.wh / samples, "Wh/sample", False, "energy")
    if energy.kg_co2eq is not None:
        result.add("co2_kg_per_sample", energy.kg_co2eq / samples, "kgCO2eq/sample", False,
                   "energy")
    result.notes["energy"] = energy.source + (f"; {energy.note}" if energy.note else "")


SYNTHETIC_NOTE = "synthetic weights: quality not measured"


def mark_synthetic(result: TaskResult) -> None:
    """Random weights: quality scores are noise, so none is kept and no gate applies."""
    result.metrics = {k: m for k, m in result.metrics.items() if m.kind != "quality"}
    result.per_sample = {}
    result.retention, result.thresholds = {}, {}
    result.info["synthetic"] = True
    result.notes["quality"] = SYNTHETIC_NOTE


def add_first_call(result: TaskResult, first_call_s: list[float], compiled: bool) -> None:
    """The first model call of the task (its warm-up), and with compiled decoding what
    compilation added to it: that call minus the median timed batch, kept out of the rounds."""
    if not first_call_s:
        return
    result.add("first_call_s", first_call_s[0], "s", False, "time")
    if compiled and result.rounds_s:
        extra = max(0.0, first_call_s[0] - statistics.median(result.rounds_s))
        result.add("compile_time_s", extra, "s", False, "time")
        result.notes["compile_time"] = ("first (warm-up) call minus the median timed batch; "
                                        "the timed rounds are all warm")


def add_hardware_limits(result: TaskResult, records: list[SampleRecord], limits: dict[str, Any],
                        decode_bytes: int | None, prefill_flops: float | None) -> None:
    """Each generative entry's time per decode step and prefill next to the device's lower
    bounds (weights read / bandwidth; FLOPs / matmul peak), and efficiency = bound / measured."""
    result.info["hardware_limits"] = dict(limits)
    batches = [b for b in batch_latencies(records) if b[1] is not None and b[2]]
    # a step decodes one token for every sample of the batch: its time is the batch's
    # time after prefill over the tokens each sample generated after the first
    steps = [(lat - pre) / (tok / n - 1) for lat, pre, n, tok in batches if tok / n > 1]
    if steps and decode_bytes:
        measured = statistics.median(steps)
        bound = decode_bytes / limits["bandwidth_bytes_per_s"]
        result.add("decode_step_ms", 1000 * measured, "ms/step", False, "latency")
        result.add("decode_bound_ms", 1000 * bound, "ms/step", False, "limit")
        result.add("decode_efficiency", bound / measured, "ratio", True, "limit")
        result.notes["decode_bound"] = (
            f"{decode_bytes / MIB:.1f} MiB of language-model weights read per step at "
            f"{limits['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s (KV cache reads not counted)")
    prefills = [b[1] for b in batches]
    if prefills and prefill_flops:
        measured = statistics.median(prefills)
        bound = prefill_flops / limits["matmul_flops_per_s"]
        result.add("prefill_bound_ms", 1000 * bound, "ms", False, "limit")
        result.add("prefill_efficiency", bound / measured, "ratio", True, "limit")
        result.notes["prefill_bound"] = (
            f"2 x parameters x prompt tokens = {prefill_flops / 1e9:.1f} GFLOP per batch at "
            f"{limits['matmul_flops_per_s'] / 1e12:.2f} TFLOP/s ({limits['matmul_dtype']} "
            f"matmul); the measured prefill includes preprocessing")
