"""Turn what the trackers measured into named metrics with units and directions.

Latency comes from the per-sample records (each sample holds its share of its batch's time), so
a resumed run's statistics cover every batch, including those timed before the interruption.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, TypeVar

from vlmq.measure.interference import clean, detect, single_interfered
from vlmq.results.figures import FIRST_CALL, LOAD, put
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.stats.latency import LatencyStats

MIB = 1024 * 1024
T = TypeVar("T")


@dataclass
class BatchTiming:
    """One timed batch, summed back from its records' shares."""

    model_s: float  # the model's own call, synchronized
    prefill_s: float | None
    samples: int
    tokens: int
    prepare_s: float | None  # decoding + preprocessing (None on records older than the field)
    wait_s: float | None  # how long the model waited for the batch
    token_times_s: list[float] | None  # per decoding step, from the call's start
    cpu_s: float | None = None  # process CPU time of the model call (None on older records)
    core_wait_s: float | None = None  # the calling thread's run-queue wait during the call


def batch_timings(records: list[SampleRecord]) -> list[BatchTiming]:
    """Per batch, in order."""
    batches: dict[int, list[SampleRecord]] = defaultdict(list)
    for r in records:
        if not r.error and r.latency_s is not None:
            batches[r.batch].append(r)
    out = []
    for b in sorted(batches):
        recs = batches[b]
        steps = next((r.token_times_s for r in recs if r.token_times_s), None)
        out.append(BatchTiming(
            model_s=sum(r.latency_s for r in recs), prefill_s=recs[0].prefill_s,
            samples=len(recs), tokens=sum(r.new_tokens or 0 for r in recs),
            prepare_s=_total(r.prepare_s for r in recs),
            wait_s=_total(r.input_wait_s for r in recs), token_times_s=steps,
            cpu_s=_total(r.cpu_s for r in recs),
            core_wait_s=_total(r.core_wait_s for r in recs)))
    return out


def timed_batches(result: TaskResult, records: list[SampleRecord]) -> list[BatchTiming]:
    """The batches the timing figures use: without the interfered ones that `add_speed`
    flagged in info["interference"] (unless most were)."""
    return _without_interfered(result, batch_timings(records))


def batch_tpots(result: TaskResult, records: list[SampleRecord]) -> list[float]:
    """Each timed batch's median decoding step (seconds): the unit the TPOT interval resamples,
    since the steps of one batch share its state and are not independent."""
    return [statistics.median(b - a for a, b in pairwise(batch.token_times_s))
            for batch in timed_batches(result, records)
            if batch.token_times_s and len(batch.token_times_s) > 1]


def timed_rounds(result: TaskResult) -> list[float]:
    """`rounds_s` as the timing intervals and latency ratios use them: without the interfered
    rounds (unless most were)."""
    return _without_interfered(result, list(result.rounds_s))


def _without_interfered(result: TaskResult, items: list[T]) -> list[T]:
    flags = (result.info.get("interference") or {}).get("interfered") or []
    return clean(items, flags) if len(flags) == len(items) else items


def _total(shares: Any) -> float | None:
    shares = list(shares)
    return None if any(x is None for x in shares) else sum(shares)


def _add_percentiles(result: TaskResult, prefix: str, seconds: list[float],
                     names: tuple[str, ...] = ("p50", "p90", "p99")) -> None:
    stats = LatencyStats.from_seconds(seconds)
    for name in names:
        put(result, f"{prefix}_{name}_ms", getattr(stats, f"{name}_ms"))


def add_speed(result: TaskResult, records: list[SampleRecord]) -> None:
    """The model's own latency per batch (what gates and compare judge), throughput, end-to-end
    latency (preprocessing + model), input wait, time to first token and time per output token.

    Every figure but `rounds_s` leaves out the batches another process slowed down
    (vlmq.measure.interference), unless most were; info["interference"] says how many.
    """
    batches = batch_timings(records)
    if not batches:
        result.notes["latency"] = "no sample was timed"
        return
    result.rounds_s = [b.model_s for b in batches]
    found = detect(result.rounds_s, [b.cpu_s for b in batches],
                   int(result.info.get("threads") or 1), str(result.info.get("device", "cpu")),
                   [b.core_wait_s for b in batches])
    result.info["interference"] = found.to_dict()
    if found.count:
        result.notes["interference"] = found.note + (
            "; most were, so the figures include them and describe a busy machine"
            if found.mostly else "; the latency figures leave them out")
    batches = clean(batches, found.interfered)
    _add_percentiles(result, "latency", [b.model_s for b in batches],
                     ("p50", "p90", "p95", "p99", "mean", "std"))
    total_s = sum(b.model_s for b in batches)
    samples = sum(b.samples for b in batches)
    tokens = sum(b.tokens for b in batches)
    put(result, "throughput_samples_per_s", samples / total_s)
    if all(b.prepare_s is not None for b in batches):
        # end to end = the batch's preprocessing + its model call (overlapped or not, this is
        # what one batch costs from files to outputs)
        e2e = [b.model_s + b.prepare_s for b in batches]
        put(result, "e2e_latency_p50_ms", 1000 * statistics.median(e2e))
        put(result, "e2e_latency_mean_ms", 1000 * statistics.fmean(e2e))
        put(result, "input_wait_mean_ms", 1000 * statistics.fmean(b.wait_s for b in batches))
        result.notes["latency"] = (
            "latency_* and throughput: the model's own call (forward or generate on inputs "
            "already preprocessed and on the device; synchronize + perf_counter). e2e_latency: "
            "preprocessing + model per batch. input_wait: time the model waited for its input")
    prefills = [b.prefill_s for b in batches if b.prefill_s is not None]
    if tokens and prefills:
        put(result, "throughput_tokens_per_s", tokens / total_s)
        # the median: one slow batch (allocator growth, a clock change) must not move it
        put(result, "ttft_ms", 1000 * statistics.median(prefills))
        _add_percentiles(result, "ttft", prefills)
        steps = [b - a for batch in batches if batch.token_times_s
                 for a, b in pairwise(batch.token_times_s)]
        if steps:
            # one decoding step produces one token for every sample of the batch
            _add_percentiles(result, "tpot", steps)
        # decode = every token after the first of each sample, over the time after prefill
        decode_tokens = sum(b.tokens - b.samples for b in batches if b.prefill_s is not None)
        decode_s = sum(b.model_s - b.prefill_s for b in batches if b.prefill_s is not None)
        if decode_s > 0 and decode_tokens > 0:
            put(result, "decode_tokens_per_s", decode_tokens / decode_s)


def add_memory(result: TaskResult, memory: Any, loaded: Any) -> None:
    """Memory that belongs to the model, the process's, model footprint, size on disk, load time.

    CUDA: `model_peak_memory_mib` is the allocator's max allocated during the task (weights
    included), `peak_reserved_mib` its max reserved, `device_process_mib` and
    `load_device_process_mib` the process's device memory as NVML reports it after the task and
    after loading. CPU: `model_peak_memory_mib` is what loading added to the RSS (the resident
    weights) plus how far the RSS rose above its level at the task's start (activations and the
    bounded input pipeline), so data loaded between the two does not count; and
    `process_peak_rss_mib` is the raw peak RSS of the whole process during the task.
    """
    load = getattr(loaded, "load_memory", None)
    if memory is not None and memory.peak_bytes is not None:
        result.notes["peak_memory"] = memory.method + (f"; {memory.note}" if memory.note else "")
        if memory.method == "cuda-max-allocated":
            put(result, "model_peak_memory_mib", memory.peak_bytes / MIB)
            put(result, "peak_reserved_mib", memory.reserved_bytes / MIB)
            for name, m in (("device_process_mib", memory), ("load_device_process_mib", load)):
                on_device = getattr(m, "device_process_bytes", None)
                put(result, name, None if on_device is None else on_device / MIB)
        else:
            loaded_rss = _growth(load, "end_bytes")
            task_rss = _growth(memory, "peak_bytes")
            model = None if loaded_rss is None or task_rss is None else loaded_rss + task_rss
            # the model's figure first: reports show the first "peak" metric of a result
            put(result, "model_peak_memory_mib", None if model is None else model / MIB)
            put(result, "process_peak_rss_mib", memory.peak_bytes / MIB)
            result.notes["model_peak_memory"] = (
                "RSS added by loading the model + RSS growth above the task's start level (the "
                "input pipeline's few batches included); process_peak_rss: the whole process")
    if load is not None and load.peak_bytes is not None and load.start_bytes is not None:
        put(result, "load_peak_memory_mib", (load.peak_bytes - load.start_bytes) / MIB)
        steady = _growth(load, "end_bytes")
        put(result, "steady_memory_mib", None if steady is None else steady / MIB)
    add_estimate(result, getattr(loaded, "memory_estimate", None))
    put(result, "footprint_mib", loaded.footprint_bytes / MIB)
    disk = loaded.disk_bytes
    put(result, "disk_mib", None if disk is None else disk / MIB)
    if loaded.disk_note:
        result.notes["disk"] = loaded.disk_note
    put(result, "load_time_s", loaded.load_time_s)
    put(result, "machine_setup_s", loaded.machine_setup_s)
    add_single_shot(result, LOAD, loaded.load_time_s, getattr(loaded, "load_cpu_s", None),
                    getattr(loaded, "load_wait_s", None))
    if getattr(loaded, "calibration_s", None) is not None:
        put(result, "calibration_s", loaded.calibration_s)


def add_estimate(result: TaskResult, est: Any) -> None:
    """The pre-load estimate of the model's peak memory (vlmq.measure.estimate), beside the
    measured peaks so that its error shows in every entry."""
    if est is None:
        return
    put(result, "memory_estimate_mib", est.peak_bytes / MIB)
    result.info["memory_estimate"] = {k: v for k, v in est.to_dict().items() if k != "variant"}


def _growth(memory: Any, field: str) -> int | None:
    """How far `field` of a MemoryResult rose above its start level (never below 0)."""
    value = getattr(memory, field, None)
    start = getattr(memory, "start_bytes", None)
    return None if value is None or start is None else max(0, value - start)


def add_energy(result: TaskResult, timed: Any, first_call: Any, samples: int) -> None:
    """Energy and emissions per sample of the timed model calls, and the first call's energy
    apart (the EnergyResults of the "timed" and "first_call" windows), with their source."""
    if first_call is not None and first_call.wh is not None:
        put(result, "first_call_wh", first_call.wh)
    if timed is None or timed.wh is None:
        result.notes["energy"] = getattr(timed, "note", "") or "energy not measured"
        return
    put(result, "energy_wh_per_sample", timed.wh / samples)
    if timed.kg_co2eq is not None:
        put(result, "co2_kg_per_sample", timed.kg_co2eq / samples)
    result.notes["energy"] = (f"{timed.source}, over the {timed.windows} timed model calls "
                              f"({timed.duration_s:.2f} s)"
                              + (f"; {timed.note}" if timed.note else ""))


SYNTHETIC_NOTE = "synthetic weights: quality not measured"


def mark_synthetic(result: TaskResult) -> None:
    """Random weights: quality scores are noise, so none is kept and no gate applies."""
    result.metrics = {k: m for k, m in result.metrics.items() if m.kind != "quality"}
    result.per_sample, result.sample_stats = {}, {}
    result.retention, result.thresholds, result.gates = {}, {}, {}
    result.info["synthetic"] = True
    result.notes["quality"] = SYNTHETIC_NOTE


def add_first_call(result: TaskResult, first_call_s: list[float], compiled: bool,
                   first_call_cpu_s: list[float | None] | None = None,
                   first_call_wait_s: list[float | None] | None = None) -> None:
    """The load's first model call where this task made it (its warm-up), and with compiled
    decoding what compilation added to it: that call minus the median timed batch, kept out of
    the rounds.
    With its CPU time and run-queue wait, info["first_call_interfered"] says whether another
    process slowed it (`add_single_shot`)."""
    if not first_call_s:
        return
    put(result, "first_call_s", first_call_s[0])
    add_single_shot(result, FIRST_CALL, first_call_s[0], (first_call_cpu_s or [None])[0],
                    (first_call_wait_s or [None])[0])
    if compiled and result.rounds_s:
        extra = max(0.0, first_call_s[0] - statistics.median(result.rounds_s))
        put(result, "compile_time_s", extra)
        result.notes["compile_time"] = ("first (warm-up) call minus the median timed batch; "
                                        "the timed rounds are all warm")


def add_single_shot(result: TaskResult, key: str, wall_s: float | None, cpu_s: float | None,
                    wait_s: float | None) -> None:
    """Whether another process slowed a one-off region (info[key], vlmq.results.figures names
    the figures it covers), and what told: its wall and CPU time and the run-queue wait, under
    info["single_shots"][key] (vlmq.measure.interference)."""
    result.info[key] = single_interfered(wall_s, cpu_s, str(result.info.get("device", "cpu")),
                                         wait_s)
    result.info.setdefault("single_shots", {})[key] = {
        "wall_s": wall_s, "cpu_s": cpu_s, "core_wait_s": wait_s}


def add_hardware_limits(result: TaskResult, records: list[SampleRecord], limits: dict[str, Any],
                        decode_bytes: int | None, prefill_flops: float | None) -> None:
    """Each generative entry's time per decode step and prefill next to the device's lower
    bounds (weights read / bandwidth; FLOPs / matmul peak), and efficiency = bound / measured."""
    result.info["hardware_limits"] = dict(limits)
    batches = [b for b in timed_batches(result, records) if b.prefill_s is not None and b.tokens]
    # a step decodes one token for every sample of the batch: the gaps between the step
    # timestamps, or (records without them) the batch's time after prefill over the tokens
    # each sample generated after the first
    steps = [b - a for batch in batches if batch.token_times_s
             for a, b in pairwise(batch.token_times_s)]
    if not steps:
        steps = [(b.model_s - b.prefill_s) / (b.tokens / b.samples - 1) for b in batches
                 if b.tokens / b.samples > 1]
    if steps and decode_bytes:
        measured = statistics.median(steps)
        bound = decode_bytes / limits["bandwidth_bytes_per_s"]
        put(result, "decode_step_ms", 1000 * measured)
        put(result, "decode_bound_ms", 1000 * bound)
        put(result, "decode_efficiency", bound / measured)
        result.notes["decode_bound"] = (
            f"{decode_bytes / MIB:.1f} MiB of language-model weights read per step at "
            f"{limits['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s (KV cache reads not counted)")
    prefills = [b.prefill_s for b in batches]
    if prefills and prefill_flops:
        measured = statistics.median(prefills)
        bound = prefill_flops / limits["matmul_flops_per_s"]
        put(result, "prefill_bound_ms", 1000 * bound)
        put(result, "prefill_efficiency", bound / measured)
        result.notes["prefill_bound"] = (
            f"2 x parameters x inputs per part (vision encoder x image patches, language model "
            f"less its embedding table x prompt tokens, image tokens included) = "
            f"{prefill_flops / 1e9:.1f} GFLOP per batch at "
            f"{limits['matmul_flops_per_s'] / 1e12:.2f} TFLOP/s (the matmul peak measured "
            f"here in {limits['matmul_dtype']}: an unquantized variant's own dtype, else the "
            f"fastest); the measured prefill is the model call's, to its "
            f"first logits")


def beats_bound(result: TaskResult) -> bool:
    """Whether a decode or prefill efficiency of the entry is above 1 (faster than the limit)."""
    return any(name in result.metrics and result.metrics[name].value > 1
               for name in ("decode_efficiency", "prefill_efficiency"))


def add_kv_cache(result: TaskResult, loaded: Any, setting: str, records: list[SampleRecord],
                 prompt_lengths: list[int]) -> None:
    """The KV cache per sample (`kv_cache_mib`) and the prompt length it holds (info)."""
    from vlmq.kvcache import kv_cache_bytes

    new = [r.new_tokens for r in records if r.new_tokens is not None]
    result.info["kv_cache"] = setting
    if not prompt_lengths or not new:
        return
    prompt = sum(prompt_lengths) / len(prompt_lengths)
    text = loaded.model.config.get_text_config(decoder=True)
    size = kv_cache_bytes(text, prompt, sum(new) / len(new), setting, loaded.model.dtype.itemsize)
    result.info["prompt_tokens"] = round(prompt, 1)
    put(result, "kv_cache_mib", size / MIB)
