"""Interference: a timed call whose wall time its own process CPU time cannot explain is
flagged, left out of the timing figures, and named by compare instead of judged."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vlmq.measure.interference import clean, detect, single_interfered, slowdown
from vlmq.results.measures import add_speed, batch_tpots
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.stats.timing import timing_intervals

# cores other processes may use beside the quiet rounds before the hog test gives up: kernel
# threads and an idle shell stay far below it; another benchmark or build does not
QUIET_OTHERS_CORES = 0.25


def test_a_call_below_its_tasks_utilization_is_interfered() -> None:
    # two threads: quiet calls use ~1.8 CPU-s per wall second; a stretched one only 0.9
    wall = [1.0, 1.0, 2.0, 1.0]
    cpu = [1.8, 1.75, 1.8, 1.7]
    found = detect(wall, cpu, threads=2)
    assert found.interfered == [False, False, True, False] and found.count == 1
    assert found.applies and not found.mostly
    assert slowdown(found.utilization, found.interfered, found.reference) == pytest.approx(2.0)
    assert clean(wall, found.interfered) == [1.0, 1.0, 1.0]


def test_the_calling_thread_alone_sets_the_floor() -> None:
    # single-threaded work (utilization 1): a call that got 70% of a core is interfered
    found = detect([1.0, 1.0, 1.0], [1.0, 0.95, 0.7], threads=2)
    assert found.interfered == [False, False, True]
    # every call stretched alike is still caught: none reaches one CPU-second per second
    assert detect([1.0, 1.0], [0.5, 0.55], threads=2).interfered == [True, True]
    assert single_interfered(2.0, 0.5) is True
    assert single_interfered(2.0, 1.9) is False
    assert single_interfered(2.0, None) is None


def test_no_judgement_on_a_gpu_or_without_cpu_times() -> None:
    assert detect([1.0], [0.1], threads=2, device="cuda").interfered == [False]
    assert not detect([1.0], [0.1], threads=2, device="cuda").applies
    assert not detect([1.0, 1.0], [None, None], threads=2).applies
    assert single_interfered(1.0, 0.1, "cuda:0") is None


def test_mostly_interfered_keeps_every_round() -> None:
    flags = [True, True, False]
    assert clean([1.0, 2.0, 3.0], flags) == [1.0, 2.0, 3.0]


def _records(wall: list[float], cpu: list[float]) -> list[SampleRecord]:
    return [SampleRecord(sample_id=str(i), index=i, batch=i, prompt=None, prediction="x",
                         references=["x"], latency_s=w, cpu_s=c, prepare_s=0.0,
                         input_wait_s=0.0)
            for i, (w, c) in enumerate(zip(wall, cpu, strict=True))]


def test_add_speed_leaves_interfered_batches_out_of_the_figures() -> None:
    result = TaskResult(info={"threads": 2, "device": "cpu"})
    wall = [0.1, 0.1, 0.1, 0.5, 0.1]
    add_speed(result, _records(wall, [0.18, 0.18, 0.18, 0.2, 0.18]))
    assert result.rounds_s == wall  # every round kept as measured
    assert result.info["interference"]["count"] == 1
    assert result.metrics["latency_mean_ms"].value == pytest.approx(100.0)
    assert result.metrics["throughput_samples_per_s"].value == pytest.approx(10.0)
    assert "1 of 5 timed calls interfered" in result.notes["interference"]


def test_the_tpot_interval_resamples_batches_and_leaves_the_interfered_one_out() -> None:
    result = TaskResult(info={"threads": 2, "device": "cpu"})
    records = _records([0.1, 0.1, 0.1, 0.5, 0.1], [0.18, 0.18, 0.18, 0.2, 0.18])
    steps = [0.010, 0.012, 0.011, 0.090, 0.013]  # the 4th batch is the interfered one
    for r, step in zip(records, steps, strict=True):
        r.token_times_s = [0.05 + k * step for k in range(6)]
    add_speed(result, records)
    tpots = batch_tpots(result, records)
    assert tpots == pytest.approx([0.010, 0.012, 0.011, 0.013])
    tpot = timing_intervals(result.rounds_s, 1.0, 0.95, 2000, 0, tpots)["tpot_s"]
    assert tpot["value"] == pytest.approx(0.0115)
    assert tpot["low"] <= tpot["value"] <= tpot["high"] < 0.09
    assert "tpot_s" not in timing_intervals(result.rounds_s, 1.0, 0.95, 2000, 0, tpots[:2])


def _work(a: torch.Tensor) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(12):
        a @ a
    return time.perf_counter() - wall, time.process_time() - cpu


def _machine_busy_s() -> float | None:
    """CPU-seconds every process on the machine has used (Linux /proc/stat), None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _quiet_rounds(a: torch.Tensor, n: int) -> tuple[list[tuple[float, float]], float | None]:
    """n rounds without a hog, and the cores other processes used meanwhile (None: unknown).
    Told from the machine's counters, not from the rule under test, so that a rule that
    flags quiet rounds fails the test instead of skipping it."""
    busy, wall, own = _machine_busy_s(), time.perf_counter(), time.process_time()
    rounds = [_work(a) for _ in range(n)]
    after = _machine_busy_s()
    if busy is None or after is None:
        return rounds, None
    others = (after - busy) - (time.process_time() - own)
    return rounds, max(0.0, others) / (time.perf_counter() - wall)


def test_a_cpu_hog_is_flagged_and_the_median_stands() -> None:
    """Quiet rounds, then rounds beside busy loops on every core, then quiet rounds again."""
    torch.manual_seed(0)
    a = torch.randn(384, 384)
    _work(a)  # warm-up
    before, others_before = _quiet_rounds(a, 8)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(2 * (torch.get_num_threads() or 1))]
    try:
        time.sleep(0.3)  # let the scheduler spread them
        hogged = [_work(a) for _ in range(8)]
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    after, others_after = _quiet_rounds(a, 8)
    others = [x for x in (others_before, others_after) if x is not None]
    if max(others, default=0.0) > QUIET_OTHERS_CORES:
        pytest.skip(f"this machine is busy already: other processes used "
                    f"{max(others):.2f} cores while the rounds without the hog ran")
    rounds = before + hogged + after
    found = detect([w for w, _ in rounds], [c for _, c in rounds], torch.get_num_threads())
    quiet_flags = found.interfered[:8] + found.interfered[16:]
    assert sum(quiet_flags) <= len(quiet_flags) // 4, found.utilization
    assert all(found.interfered[8:16]), found.utilization
    walls = [w for w, _ in rounds]
    quiet_walls = [w for w, _ in before + after]
    interval = timing_intervals(quiet_walls, 1.0, 0.95, 2000, 0)["median_batch_s"]
    reported = statistics.median(clean(walls, found.interfered))
    assert interval["low"] <= reported <= interval["high"]
    assert statistics.mean(walls) > statistics.mean(clean(walls, found.interfered))
