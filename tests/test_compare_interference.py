"""compare and history on runs another process slowed down: an entry whose rounds were mostly
interfered is named, not judged on speed; its quality still is; a single-shot figure counts
only beyond the interference the runs recorded and never when its own measurement was hit,
while a single shot that got slower by its own work is still a regression."""

from __future__ import annotations

from typing import Any

from report_fixtures import make_results, write_benchmark_json

from vlmq.report.compare import REGRESSION, compare, load_run
from vlmq.report.interfered import INTERFERED, notes
from vlmq.results.figures import FIRST_CALL, put
from vlmq.results.measures import add_single_shot
from vlmq.results.schema import TaskResult

VIT = "vit-tiny"


def _entry(results: list[TaskResult], variant: str) -> TaskResult:
    return next(r for r in results if r.info["model"] == VIT and r.info["variant"] == variant)


def _interfere(r: TaskResult, rounds: list[int], factor: float) -> None:
    """Stretch `rounds` of `r` by `factor`, with the CPU time they would have recorded."""
    n = len(r.rounds_s)
    utilization = [1.8] * n
    for i in rounds:
        r.rounds_s[i] *= factor
        utilization[i] = 1.8 / factor
    r.info["interference"] = {"interfered": [i in rounds for i in range(n)],
                              "utilization": utilization, "reference": 1.8}
    if 2 * len(rounds) > n:  # the figures then describe the busy machine
        for name in ("latency_p50_ms", "latency_p95_ms", "energy_per_sample_j"):
            r.metrics[name].value *= factor
        r.metrics["throughput"].value /= factor


def _verdicts(tmp_path: Any, a: list[TaskResult], b: list[TaskResult]) -> dict[tuple, str]:
    pa = write_benchmark_json(tmp_path / "a.json", a)
    pb = write_benchmark_json(tmp_path / "b.json", b)
    rows = compare([load_run(str(pa)), load_run(str(pb))])
    return {(r.entry, r.metric): r.judgements[0].verdict for r in rows}


def test_a_mostly_interfered_entry_is_named_not_judged(tmp_path: Any) -> None:
    a, b = make_results(1), make_results(2)
    _interfere(_entry(b, "nf4"), list(range(6)), 3.0)
    verdicts = _verdicts(tmp_path, a, b)
    assert REGRESSION not in verdicts.values()
    entry = f"{VIT}/nf4/classify"
    assert verdicts[(entry, "latency_p50_ms")] == INTERFERED
    assert verdicts[(entry, "energy_per_sample_j")] == INTERFERED
    assert verdicts[(entry, "model_size_mb")] != INTERFERED  # a busy machine moves no size
    lines = notes([load_run(str(tmp_path / "b.json"))])
    assert len(lines) == 1 and entry in lines[0] and "6 of 8" in lines[0]


def test_the_same_entry_degraded_still_fails_on_quality(tmp_path: Any) -> None:
    a = make_results(1)
    b = make_results(2, degrade=(VIT, "nf4", "top1", 0.0))
    _interfere(_entry(b, "nf4"), list(range(6)), 3.0)
    verdicts = _verdicts(tmp_path, a, b)
    regressed = [k for k, v in verdicts.items() if v == REGRESSION]
    assert regressed == [(f"{VIT}/nf4/classify", "top1")]


def test_a_few_interfered_rounds_are_left_out_of_the_rounds_test(tmp_path: Any) -> None:
    a, b = make_results(1), make_results(2)
    _interfere(_entry(b, "int8"), [2, 5], 4.0)
    verdicts = _verdicts(tmp_path, a, b)
    assert REGRESSION not in verdicts.values()
    assert verdicts[(f"{VIT}/int8/classify", "time:median")] != INTERFERED


def test_single_shots_count_only_beyond_the_runs_interference(tmp_path: Any) -> None:
    a, b = make_results(1), make_results(2)
    _entry(b, "bf16").metrics["load_time_s"].value *= 3.0  # 9 s instead of 3
    key = (f"{VIT}/bf16/classify", "load_time_s")
    # nothing interfered anywhere: a tripled load time stands out of the other entries'
    assert _verdicts(tmp_path, a, b)[key] == REGRESSION
    # another entry's round was stretched 4x by a busy machine: 3x is within that
    _interfere(_entry(b, "int8"), [1], 4.0)
    assert _verdicts(tmp_path, a, b)[key] != REGRESSION
    # the load itself interfered: never judged
    _interfere(_entry(b, "int8"), [], 1.0)
    _entry(b, "bf16").info["load_interfered"] = True
    assert _verdicts(tmp_path, a, b)[key] == INTERFERED


def _first_call(r: TaskResult, wall_s: float, cpu_s: float, wait_s: float) -> None:
    """Record a first call as the runner does: its figure, and from its wall and CPU time and
    its run-queue wait whether another process slowed it."""
    r.info["device"] = "cpu"
    put(r, "first_call_s", wall_s)
    add_single_shot(r, FIRST_CALL, wall_s, cpu_s, wait_s)


def _first_call_verdict(tmp_path: Any, wall_s: float, cpu_s: float, wait_s: float) -> str:
    a, b = make_results(1), make_results(2)
    for i, r in enumerate(a + b):  # every entry's first call: ~0.4 s at two threads' use
        wall = 0.4 * (1 + 0.05 * ((7 * i) % 5 - 2))
        _first_call(r, wall, 1.95 * wall, 0.0)
    _first_call(_entry(b, "bf16"), wall_s, cpu_s, wait_s)
    return _verdicts(tmp_path, a, b)[(f"{VIT}/bf16/classify", "first_call_s")]


def test_a_genuinely_slower_first_call_is_a_regression(tmp_path: Any) -> None:
    # 7x slower and its CPU time rose with it (more work in-process), no wait for a core
    assert _first_call_verdict(tmp_path, 2.8, 5.5, 0.01) == REGRESSION
    # single-threaded extra work (one CPU-second per second) is still work, not interference
    assert _first_call_verdict(tmp_path, 2.8, 2.8, 0.0) == REGRESSION


def test_a_first_call_under_contention_is_interfered(tmp_path: Any) -> None:
    # a hog beside it: the pool's spinning threads keep CPU/wall near 1 (as in the A/A run of
    # 2026-12-06: 0.41 -> 2.56 s), but the calling thread waited for a core half the call
    assert _first_call_verdict(tmp_path, 2.8, 2.7, 1.4) == INTERFERED
    # a stall (sleep-like: the call got no CPU for most of its wall time)
    assert _first_call_verdict(tmp_path, 2.8, 0.5, 0.0) == INTERFERED


def test_a_benchmark_timed_once_counts_only_beyond_the_runs_interference() -> None:
    """The sensitivity sweep is one round: +26% (57.5 -> 72.2 s in a small A/A pair on a
    loaded machine) is within the x4 slowdown another entry's rounds recorded."""
    from vlmq.report.compare import Entry, Run

    def run(label: str, sweep_s: float, stretched: bool) -> Run:
        r = make_results(1)[0]
        r.rounds_s = [0.1] * 8
        r.info["interference"] = {"interfered": [stretched] * 2 + [False] * 6,
                                  "utilization": [0.45 if stretched else 1.8] * 2 + [1.8] * 6,
                                  "reference": 1.8}
        stats = {"median": 0.1, "rounds": 8, "data": [0.1] * 8}
        sweep = {"min": sweep_s, "median": sweep_s, "mean": sweep_s, "max": sweep_s,
                 "stddev": 0.0, "rounds": 1}
        return Run(label, {("vlmq",): Entry("vlmq-entry", r, stats),
                           ("sweep",): Entry("sweep", None, sweep)})

    def verdict(stretched: bool) -> str:
        rows = compare([run("a", 57.5, False), run("b", 72.2, stretched)])
        return next(r for r in rows if r.entry == "sweep" and r.metric == "time:median"
                    ).judgements[0].verdict

    assert verdict(stretched=True) != REGRESSION
    assert verdict(stretched=False) == REGRESSION  # nothing recorded a busy machine


def test_cpu_memory_under_contention_is_named_not_judged(tmp_path: Any) -> None:
    # bnb int8 beside a hog: RSS growth 86 -> 141 MiB with the same code (2026-12-06/07)
    a, b = make_results(1), make_results(2)
    entry = _entry(b, "nf4")
    entry.metrics["peak_memory_mb"].value *= 1.65
    key = (f"{VIT}/nf4/classify", "peak_memory_mb")
    assert _verdicts(tmp_path, a, b)[key] == REGRESSION  # a quiet entry: judged
    entry.info["load_interfered"] = True
    assert _verdicts(tmp_path, a, b)[key] == INTERFERED
    entry.info["load_interfered"] = False
    _interfere(entry, list(range(6)), 3.0)
    assert _verdicts(tmp_path, a, b)[key] == INTERFERED
    for r in a + b:  # the CUDA allocator's figures are exact: judged whatever the load
        r.info["device"] = "cuda:0"
    assert _verdicts(tmp_path, a, b)[key] == REGRESSION


def test_energy_keeps_the_interfered_calls_it_measured(tmp_path: Any) -> None:
    # 2 of 8 rounds stretched 4x: the timing leaves them out, but the energy windows held them
    # (on a CPU energy is watts x time), so energy is set against every round's mean
    a, b = make_results(1), make_results(2)
    entry = _entry(b, "int8")
    before = sum(entry.rounds_s) / len(entry.rounds_s)
    _interfere(entry, [2, 5], 4.0)
    entry.metrics["energy_per_sample_j"].value *= sum(entry.rounds_s) / len(entry.rounds_s) / before
    verdicts = _verdicts(tmp_path, a, b)
    assert verdicts[(f"{VIT}/int8/classify", "energy_per_sample_j")] != REGRESSION
