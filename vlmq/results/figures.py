"""Every measured figure vlmq writes: its unit, direction, kind, and the region it covers.

One definition per figure, so that what a number measures is written once: `put` records a
figure under its definition, and docs/measurement.md's table of regions is generated from
these definitions (`python -m vlmq.results.figures docs/measurement.md` rewrites it; a test
checks that the page matches). Quality metrics are defined by their tasks (vlmq.metrics).

`once` marks single-shot figures (one measurement per entry, no within-run spread) by naming the
info key that says whether that one measurement was interfered: compare judges them only far
beyond the interference the runs recorded, never when interfered (vlmq.report.interfered).
`context` marks figures that `vlmq compare` and `vlmq history` show but never judge, saying why:
they describe what ran around the variant, not the variant.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from vlmq.results.schema import TaskResult

# two phrases the regions below use, defined under the docs table
TIMED, MODEL_CALL = "the timed calls", "the model call"
LEGEND = {
    MODEL_CALL: "forward or generate on inputs already preprocessed and on the device, "
                "synchronized (CUDA synchronize + perf_counter around it)",
    TIMED: "the task's model calls after its warm-up, less those another process slowed down "
           "(all of them when most were; vlmq.measure.interference)",
}
# info keys: whether the one measurement of a single-shot figure was interfered
FIRST_CALL, LOAD = "first_call_interfered", "load_interfered"


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    higher_is_better: bool
    kind: str
    region: str  # what the number covers, for the docs table
    once: str = ""  # single-shot: the info key flagging its one measurement as interfered
    context: str = ""  # shown, never judged as a regression: why


FIGURES: dict[str, Figure] = {}


def _define(name: str, unit: str, higher_is_better: bool, kind: str, region: str,
            once: str = "", context: str = "") -> None:
    FIGURES[name] = Figure(name, unit, higher_is_better, kind, region, once, context)


for _stat in ("p50", "p90", "p95", "p99", "mean", "std"):
    _define(f"latency_{_stat}_ms", "ms/batch", False, "latency",
            f"{_stat} of {MODEL_CALL}'s wall time, over {TIMED}")
_define("throughput_samples_per_s", "samples/s", True, "throughput",
        f"samples / summed wall time of {TIMED}")
_define("throughput_tokens_per_s", "tokens/s", True, "throughput",
        f"generated tokens / summed wall time of {TIMED}")
# the time around the model call is a diagnostic of the input pipeline; compare, like the
# gates, judges the model's own time
PIPELINE = "a diagnostic of the input pipeline: compare, like the gates, judges the model's time"
_define("e2e_latency_p50_ms", "ms/batch", False, "time",
        f"median of a batch's preprocessing + its model call, over {TIMED}", context=PIPELINE)
_define("e2e_latency_mean_ms", "ms/batch", False, "time",
        f"mean of a batch's preprocessing + its model call, over {TIMED}", context=PIPELINE)
_define("input_wait_mean_ms", "ms/batch", False, "time",
        f"mean time the model waited for its next batch, over {TIMED}", context=PIPELINE)
_define("ttft_ms", "ms", False, "latency",
        f"median prefill (call start to the first logits) of {TIMED}")
for _stat in ("p50", "p90", "p99"):
    _define(f"ttft_{_stat}_ms", "ms", False, "latency", f"{_stat} prefill of {TIMED}")
    _define(f"tpot_{_stat}_ms", "ms/token", False, "latency",
            f"{_stat} gap between decoding steps of {TIMED}")
_define("decode_tokens_per_s", "tokens/s", True, "throughput",
        f"tokens after each sample's first / time after prefill, over {TIMED}")
_define("energy_wh_per_sample", "Wh/sample", False, "energy",
        "energy of every timed model call (each one a codecarbon task; NVML's counter on a "
        "GPU) / their samples; the warm-up, records, loading and scoring outside")
_define("co2_kg_per_sample", "kgCO2eq/sample", False, "energy",
        "energy_wh_per_sample x the country's carbon intensity")
_define("first_call_s", "s", False, "time",
        "wall time of the load's first model call (the warm-up on its first task's first "
        "batch, or that batch's timed call with --vlmq-warmup 0; with static-cache or "
        "compiled decoding every task's): allocator growth, lazy kernel set-up and "
        "compilation land here", once=FIRST_CALL)
_define("first_call_wh", "Wh", False, "energy",
        "energy of the task's first model call alone", once=FIRST_CALL)
_define("compile_time_s", "s", False, "time",
        "compiled decoding only: first_call_s minus the median timed batch", once=FIRST_CALL)
_define("load_time_s", "s", False, "time",
        "from_pretrained + the variant's quantization (+ GPU synchronize); the processor, "
        "checks and per-machine set-up outside", once=LOAD)
_define("machine_setup_s", "s", False, "time",
        "per-machine one-time work the variant needed at load (an extension build); 0 when "
        "scripts/setup.sh did it", once=LOAD)
_define("calibration_s", "s", False, "time",
        "calibrated variants: the calibrating library's run on the calibration samples, apart "
        "from load_time_s; 0 when the cached checkpoint was reused", once=LOAD)
_define("kv_cache_mib", "MiB", False, "memory",
        "generative tasks: the KV cache one sample leaves after decoding, computed from the "
        "cache's layout (vlmq.kvcache) for the mean padded prompt and the mean new tokens")
_define("model_peak_memory_mib", "MiB", False, "memory",
        "GPU: allocator's max allocated over the task pass (warm-up and timed calls, weights "
        "included); CPU: RSS added by loading + RSS growth over the task pass, which holds "
        "what glibc keeps of freed temporaries under its mmap threshold (32 MiB, or the "
        "process's MALLOC_MMAP_THRESHOLD_; machine_info's glibc_mmap_threshold_running): "
        "SmolVLM int8 over 17 tiles grew 2-3 GB at 32 MiB, 1.0 GB at 128 KiB, whose mapping "
        "slowed prefill 1.3-1.5x (reports/cpu/real-scale/kernel-transit/threshold.md)")
_define("peak_reserved_mib", "MiB", False, "memory",
        "GPU: the caching allocator's max reserved over the task pass")
_define("device_process_mib", "MiB", False, "memory",
        "GPU: the process's device memory as NVML reports it after the task pass")
_define("load_device_process_mib", "MiB", False, "memory",
        "GPU: the process's device memory as NVML reports it after loading")
_define("process_peak_rss_mib", "MiB", False, "memory",
        "CPU: the whole process's peak RSS over the task pass",
        context="the process's high-water mark, set by whatever ran before in the process (other "
                "variants, codecarbon, the heap's arenas): in an A/A pair of main jobs it rose "
                "6-8% on five entries after a CPU hog with the same code; model_peak_memory_mib "
                "and load_peak_memory_mib are the variant's and are judged")
_define("load_peak_memory_mib", "MiB", False, "memory",
        "peak memory added while loading, over the level before it (a calibrated recipe: "
        "from after its calibration; vlmq's disk-size save left out). On CPU a variant "
        "loaded late in a process that ran others first can peak higher than in a fresh one "
        "(glibc keeps their heaps' shape: "
        "LLaVA-1.5-7B nf4 7,259 vs 4,363 MiB, docs/real-scale.md); to compare variants' "
        "memory at real size, run each in its own process (one `--vlmq-shard K/N` per case, "
        "then `vlmq merge`)", once=LOAD)
_define("steady_memory_mib", "MiB", False, "memory",
        "memory the loaded model holds once loading's freed transit is handed back (the RSS "
        "after loading over the level before it; CUDA: allocated after loading)", once=LOAD)
_define("memory_estimate_mib", "MiB", False, "limit",
        "the peak estimated before loading from the config (vlmq.measure.estimate): weights at "
        "the variant's bits, loading's transit, the batch's KV cache and activations (its "
        "prompt measured on the run's first batch), the "
        "quantized kernel's per-call temporaries and what glibc's heap keeps of them "
        "(bitsandbytes int8 on CPU: kernel-transit/retention.md)")
_define("footprint_mib", "MiB", False, "size",
        "bytes of the loaded model's parameters, buffers and quantization state")
_define("disk_mib", "MiB", False, "size", "bytes of the model saved by the variant's method")
_define("decode_step_ms", "ms/step", False, "latency",
        f"median time per decoding step of {TIMED}")
_define("decode_bound_ms", "ms/step", False, "limit",
        "language-model weight bytes / the device's measured bandwidth (the median of 9 "
        "bursts of copies over about 3 s; the bursts' range in hardware_limits: on a shared "
        "machine it moves by 1.3-1.4x between processes, reports/cpu/real-scale/bandwidth)")
_define("decode_efficiency", "ratio", True, "limit", "decode_bound_ms / decode_step_ms")
_define("prefill_bound_ms", "ms", False, "limit",
        "2 x parameters x inputs per part (vision x patches, language model x prompt "
        "tokens) / the device's fastest measured matmul peak")
_define("prefill_efficiency", "ratio", True, "limit", "prefill_bound_ms / median prefill")


def put(result: TaskResult, name: str, value: float | None) -> None:
    """Record `value` as the figure `name`, with its definition's unit, direction and kind."""
    f = FIGURES[name]
    result.add(name, value, f.unit, f.higher_is_better, f.kind)


def shown_only(name: str) -> bool:
    """Whether compare and history show the figure without judging it (its `context`)."""
    return bool(name in FIGURES and FIGURES[name].context)


def once_flag(name: str) -> str:
    """The info key flagging a single-shot figure's measurement as interfered; "" otherwise."""
    return FIGURES[name].once if name in FIGURES else ""


START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def regions_table() -> str:
    """The docs table: one row per figure."""
    lines = ["| figure | unit | kind | measured once | region it covers | compare judges it |",
             "|---|---|---|---|---|---|"]
    lines += [f"| `{f.name}` | {f.unit} | {f.kind} | {'yes' if f.once else ''} | {f.region} | "
              f"{_judged(f)} |" for f in FIGURES.values()]
    lines += [""] + [f"*{term}*: {meaning}." for term, meaning in LEGEND.items()]
    return "\n".join(lines)


def _judged(f: Figure) -> str:
    if f.context:
        return f"no, shown: {f.context}"
    return "no, shown: a bound or an estimate (kind limit)" if f.kind == "limit" else "yes"


def with_table(page: str) -> str:
    """`page` with the text between its START and END markers replaced by the table."""
    head, _, rest = page.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{regions_table()}\n{END}{tail}"


if __name__ == "__main__":
    path = Path(sys.argv[1])
    path.write_text(with_table(path.read_text()))
