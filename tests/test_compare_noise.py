"""vlmq compare's noise model: simulated A/A runs of the same code on a noisy machine rarely
raise a regression (with and without history), while a real slowdown still does."""

from __future__ import annotations

import numpy as np

from vlmq.report.compare import REGRESSION, Entry, Run, compare
from vlmq.results.schema import TaskResult

ROUNDS = 16
SIMS = 200


def _run(rng: np.random.Generator, label: str, slow: float = 1.0) -> Run:
    """One run of one entry: its machine state scales every round (8% run to run), rounds
    vary 2% inside the run; load time 0.05-0.3 s; energy follows latency; memory +-1%."""
    machine = float(np.exp(rng.normal(0, 0.08))) * slow
    rounds = 0.5 * machine * np.exp(rng.normal(0, 0.02, ROUNDS))
    r = TaskResult(info={"model": "m", "variant": "int8", "task": "vqa"})
    r.add("latency_p50_ms", float(np.median(rounds)) * 125, "ms/sample", False, "latency")
    r.add("throughput_samples_per_s", 8 / float(np.mean(rounds)), "samples/s", True,
          "throughput")
    r.add("energy_per_sample_j", float(np.mean(rounds)) * 4 * np.exp(rng.normal(0, 0.05)),
          "J/sample", False, "energy")
    r.add("load_time_s", float(rng.uniform(0.05, 0.3)), "s", False, "time")
    r.add("peak_memory_mib", 800 * float(np.exp(rng.normal(0, 0.01))), "MiB", False, "memory")
    r.rounds_s = rounds.tolist()
    stats = {"median": float(np.median(rounds)), "data": rounds.tolist()}
    return Run(label, {("m", "int8", "vqa"): Entry("m/int8/vqa", r, stats)})


def _alarm_rate(history: int, slow: float = 1.0, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    alarms = 0
    for _ in range(SIMS):
        past = [_run(rng, f"h{i}") for i in range(history)]
        ref, new = _run(rng, "ref"), _run(rng, "new", slow)
        rows = compare([ref, new], history=past)
        alarms += any(r.judgements[0].verdict == REGRESSION for r in rows)
    return alarms / SIMS


def test_aa_false_alarm_rate_without_and_with_history() -> None:
    without, with_history = _alarm_rate(0), _alarm_rate(4, seed=1)
    print(f"A/A false alarms: {without:.1%} without history, {with_history:.1%} with 4 runs")
    assert without <= 0.05
    assert with_history <= 0.05


def test_a_real_slowdown_is_still_caught() -> None:
    # a few past runs give a t-test with few degrees of freedom: 8 of them catch a 60% slowdown
    # (6 run-to-run sd) reliably; without history the minimum effect (25%) is the limit
    caught = _alarm_rate(0, slow=1.6, seed=2), _alarm_rate(8, slow=1.6, seed=3)
    print(f"60% slowdown caught: {caught[0]:.1%} without history, {caught[1]:.1%} with 8 runs")
    assert min(caught) >= 0.9


def _wide_run(label: str, energy: np.ndarray, load: np.ndarray, model: np.ndarray) -> Run:
    """A run of many entries: energy per sample and load time, which no within-run test covers,
    and the model's own rounds (s)."""
    entries = {}
    for k in range(len(energy)):
        r = TaskResult(info={"model": "m", "variant": f"v{k}", "task": "vqa"})
        r.add("energy_wh_per_sample", float(energy[k]), "Wh/sample", False, "energy")
        r.add("load_time_s", float(load[k]), "s", False, "time")
        r.rounds_s = [float(model[k])] * 2  # too few rounds for a test of their own
        entries[("m", f"v{k}", "vqa")] = Entry(f"m/v{k}/vqa", r)
    return Run(label, entries)


def test_without_history_one_entry_must_stand_out_of_the_others_changes() -> None:
    rng = np.random.default_rng(4)
    n = 24
    model = rng.uniform(0.02, 0.4, n)
    base, load = model * 1000 * 1.1, rng.uniform(3, 30, n)
    ref = _wide_run("ref", base, load, model)

    def noise() -> np.ndarray:
        return rng.uniform(0.95, 1.05, n)

    def flagged(slow: np.ndarray, energy: np.ndarray, loads: np.ndarray) -> set[str]:
        rows = compare([ref, _wide_run("new", base * slow * energy, loads, model * slow)])
        return {f"{r.entry} {r.metric}" for r in rows if r.judgements[0].verdict == REGRESSION}

    # the machine was busier for a third of the run (+30..70%), or for all of it (+35%)
    third = np.where(np.arange(n) < 8, rng.uniform(1.3, 1.7, n), 1.0)
    assert flagged(third * noise(), noise(), load * noise()) == set()
    assert flagged(1.35 * noise(), noise(), load * 1.4 * noise()) == set()
    # one variant's energy tripled at the same speed, and another's load took 4x: exactly those
    energy, loads = noise(), load * noise()
    energy[5] *= 3
    loads[9] *= 4
    assert flagged(noise(), energy, loads) == {"m/v5/vqa energy_wh_per_sample",
                                               "m/v9/vqa load_time_s"}
