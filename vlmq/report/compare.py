"""Compare two or more runs on every metric and flag regressions that are real.

Inputs: pytest-benchmark JSON files, vlmq run folders, or saved-history ids of
`--benchmark-autosave` (`0003` or `0003_abc...` under .benchmarks/<machine>/). The first run is
the reference; every later run is judged against it, entry by entry, matched on
(model, variant, task) (plus the benchmark's param string when that alone is not unique).

A metric of run B REGRESSES against run A only when both hold:
  1. the change is on the bad side of its direction and larger than its threshold (relative to
     A's value by default, see DEFAULT_THRESHOLDS; `--threshold NAME=VALUE` overrides, NAME being
     a metric, a timing statistic such as `time:median`, or a kind such as `latency`; VALUE is
     `0.05` or `5%` (relative) or `0.01abs` (absolute));
  2. the change is statistically significant (the tests are in vlmq.stats.significance): its
     test's p-value, Holm-corrected over all the tests of that comparison (B against A), is
     below alpha (default 0.01, family-wise), so running many metrics does not multiply false
     alarms:
     - quality metrics with per-sample scores on both sides (same count): a seeded paired
       bootstrap of the mean per-sample difference; the table shows its 1-alpha percentile
       interval, and the one-sided p-value comes from the bootstrap standard error (normal
       tail), which, unlike counting resamples, stays exact enough for a Holm correction;
     - latency, throughput and the pytest-benchmark timing stats, with >= 3 latency rounds on
       both sides (stats.data, else extra_info rounds_s): one one-sided Mann-Whitney U test per
       entry on the rounds (all of them are functions of the rounds); a metric counts only when
       it moved the same way as the rounds;
     - everything else (memory, size, energy, load time; or too few rounds / unpaired scores):
       no test is possible from the JSON, so the threshold alone decides (said in the table).
     With few rounds the smallest reachable p-value is large (6 vs 6 rounds: 0.001; 8 vs 8:
     0.00008), so after the correction only clear shifts pass: record >= 8 rounds.
Run-to-run noise (a history gate that knows the machine). Rounds inside one run share the
machine's state, so a within-run test calls a busier machine "significant", and load time,
energy and memory have no test at all. Hence:
  - with history (`--history RUN`, repeatable: earlier runs of the reference side, same code
    and settings), every non-quality metric whose past values (the history runs plus the
    reference) number >= MIN_HISTORY and vary is judged against their spread instead: a
    one-sided t-test of the new value against the past mean with the prediction-interval
    standard error sd * sqrt(1 + 1/k) (k - 1 degrees of freedom), Holm-corrected with the rest;
    the threshold is then taken from the past mean. Quality metrics keep the paired per-sample
    test (predictions are deterministic on one machine).
  - without history, non-quality metrics must also move by more than NO_HISTORY_MIN_EFFECT
    (relative; TAIL_MIN_EFFECT for the p90-p99 tails) and ABSOLUTE_FLOORS (in the metric's
    unit; CPU_ABSOLUTE_FLOORS on a CPU, where memory is an RSS reading): run-to-run noise seen
    on these shared CPU machines reached +21% latency and +19% energy between two runs of the
    same code, 0.09 s vs 0.14 s of load time, tails moving twice as far as medians and RSS peaks
    moving 24 MiB. A `--threshold` given for the metric or kind wins.
  - without history, a metric no within-run test covers (energy, memory, load time, the
    timing of a benchmark with too few rounds) gets its noise from the runs themselves: the
    change of the same metric in every entry of the pair. Energy first has the entry's own
    change of model time (the mean of its rounds) taken out, since on CPU it is watts x time
    and a busier machine slows the model as much. The log ratios new / reference over all entries
    (>= MIN_SPREAD_ENTRIES) give a centre (their median: what the whole run shared, a busier
    machine or a change of the harness) and a robust spread (1.4826 x their median absolute
    deviation); an entry regresses only when its own change stands out of that spread (normal
    tail, Holm-corrected with the rest). So one variant that got slower is caught, and a run
    that was slower everywhere is not called a regression of each variant: without history a
    shared shift cannot be told from a busier machine (give --history for that). Measured on
    three runs of the main job on this 2-core machine, one of them disturbed by a package
    install: see docs/measured-results.md.
Measured false-alarm rates (tests/test_compare_noise.py, simulated A/A runs with 8% run-level
latency noise, 16 rounds with 2% within-run noise, load times 0.05-0.3 s, 200 each): any
regression raised in 2.5% of A/A comparisons without history and 1.5% with 4 history runs; a
60% slowdown was caught in 99% without history and 97.5% with 8 history runs (few past runs
leave the t-test few degrees of freedom).
Timing stats min/mean/max/stddev are shown; only the median is judged (it is robust to the
odd slow round). The device's bounds and efficiencies (kind "limit") are shown, never judged,
and so are the figures whose definition gives a context (vlmq.results.figures: the input
pipeline's times, the process's peak RSS).
Reference entries missing from a later run, runs sharing no entry, and inputs without vlmq
results make the comparison incomplete (`incomplete`; the CLI exits 3 unless
--allow-missing).
The same rules flag improvements as "better".
Rounds, entries and single-shot figures that another process slowed down are treated as
vlmq.report.interfered says: left out, or shown as "interfered" instead of judged.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlmq.errors import VlmqError
from vlmq.report import interfered
from vlmq.report.verdicts import BETTER, NA, NOISE, NON_FINITE, OK, REGRESSION, Judgement
from vlmq.results.figures import FIGURES, shown_only
from vlmq.results.schema import TaskResult
from vlmq.results.store import RunStore
from vlmq.stats.significance import (
    SigTest,
    bootstrap_test,
    history_test,
    holm,
    robust_centre_spread,
    rounds_test,
    spread_test,
)

# Relative thresholds by metric kind (fractions of the reference value).
# Threshold-only kinds get wider margins: energy estimates and load times (page cache) are noisy.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "quality": 0.01, "latency": 0.05, "throughput": 0.05, "memory": 0.05, "size": 0.01,
    "energy": 0.15, "time": 0.25,
}
FALLBACK_THRESHOLD = 0.05
# without history: the smallest change (relative) a non-quality metric must show, and an
# absolute floor in its unit (s for load time, MiB for memory), or it is run-to-run noise
NO_HISTORY_MIN_EFFECT: dict[str, float] = {
    "latency": 0.25, "throughput": 0.25, "energy": 0.30, "time": 0.25, "memory": 0.05,
}
ABSOLUTE_FLOORS: dict[str, float] = {"time": 2.0, "memory": 16.0}
# on a CPU the memory figures are RSS readings, which the heap's arenas and trim thresholds move:
# in an A/A pair of main jobs (2026-12-06, same code, docs/measured-results.md) 45 entries away
# from the hog moved model_peak_memory_mib by up to 19.2 MiB (median 3.6, 90th percentile 10.8;
# values 7-140 MiB), and fp32/caption by 23.8 MiB (106.6 -> 130.4) in a third run of the same fp32
CPU_ABSOLUTE_FLOORS: dict[str, float] = {**ABSOLUTE_FLOORS, "memory": 32.0}
# without history, the tails (p90 and above) of the rounds, prefills or decoding steps need a
# larger move than their kind's minimum effect: they are extreme order statistics of a few rounds.
# In that A/A pair (36 generative entries away from the hog) tpot_p90 and tpot_p99 changed with
# a robust sd of 0.28 and 0.25 in log ratio against 0.17 for tpot_p50, and the same intact
# crushed/vqa moved tpot_p90 by +37% while its median moved +12%
TAIL_MIN_EFFECT = 0.5
TAIL = re.compile(r"_p9\d_")
TIMING_STATS = ("min", "median", "mean", "max", "stddev")
JUDGED_TIMING = ("median",)
ROUNDS_KINDS = ("latency", "throughput")
# shown, never judged: the device's bounds and efficiencies (vlmq.measure.hardware) move with a
# bandwidth and matmul peak measured afresh in every process, so they describe the device
SHOWN_KINDS = ("limit",)
# shown, never judged: the figures whose definition gives a `context` (vlmq.results.figures):
# the input pipeline's times, the process's peak RSS
SHOWN_METRICS = tuple(name for name in FIGURES if shown_only(name))
# entries whose changes estimate a metric's run-to-run spread (cross-entry noise, no history)
MIN_SPREAD_ENTRIES = 5



@dataclass
class Entry:
    """One benchmark of one run: a vlmq TaskResult and/or pytest-benchmark timing stats."""

    label: str
    result: TaskResult | None
    stats: dict[str, Any] | None = None

    def rounds(self) -> list[float]:
        """The timed rounds, without those another process slowed down (unless most were)."""
        return interfered.clean_rounds(self, self.measured_rounds())

    def measured_rounds(self) -> list[float]:
        """Every timed round as measured, the interfered ones included."""
        if self.stats and self.stats.get("data"):
            return [float(x) for x in self.stats["data"]]
        return list(self.result.rounds_s) if self.result else []


@dataclass
class Run:
    label: str
    entries: dict[tuple[str, ...], Entry]


@dataclass
class Threshold:
    value: float
    absolute: bool = False
    floor: float = 0.0  # an absolute change it must also exceed

    def exceeded(self, ref: float, new: float) -> bool:
        delta = abs(new - ref)
        if delta <= self.floor:
            return False
        if self.absolute or ref == 0:
            return delta > self.value
        return delta / abs(ref) > self.value

    def __str__(self) -> str:
        text = f"{self.value:g} abs" if self.absolute else f"{self.value:.0%}"
        return text + (f" (>{self.floor:g} abs)" if self.floor else "")


@dataclass
class Row:
    """One metric of one entry across all runs; judgements[i] compares run i+1 with run 0."""

    entry: str
    metric: str
    unit: str
    higher_is_better: bool | None  # None: shown, not judged
    kind: str
    values: list[float | None]
    threshold: Threshold | None = None
    judgements: list[Judgement] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        return any(j.verdict == REGRESSION for j in self.judgements)


# -- loading ------------------------------------------------------------------------------------


def resolve(source: str, storage: str | Path = ".benchmarks") -> Path:
    """A path for a file, run folder or saved-history id; a clear error when it is none."""
    p = Path(source)
    if p.exists():
        return p
    m = re.fullmatch(r"(?:(?P<machine>[^/]+)/)?(?P<id>\d+)(?P<rest>_\S*)?", source)
    if m:
        num = m["id"].zfill(4) + (m["rest"] or "")
        pattern = f"{m['machine'] or '*'}/{num}*.json"
        hits = sorted(Path(storage).glob(pattern))
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            names = ", ".join(str(h) for h in hits)
            raise VlmqError(f"saved run {source!r} is ambiguous ({names}); give its path")
        raise VlmqError(f"no saved run {source!r} under {str(storage)!r} "
                        f"(looked for {pattern}); pass --storage or a file path")
    raise VlmqError(f"{source!r} is neither a file, a run folder nor a saved-run id")


def load_run(source: str, storage: str | Path = ".benchmarks") -> Run:
    """Read one comparison input into entries keyed by (model, variant, task)."""
    path = resolve(source, storage)
    if path.is_dir():
        items = [(_key(r), Entry(_label(r), r), _label(r))
                 for r in RunStore.open(path).results()]
    else:
        items = [(_key(e.result, b), e, str(b.get("param") or b.get("name")))
                 for b, e in _benchmark_entries(path)]
    if not items:
        raise VlmqError(f"{source!r} holds no benchmark results")
    counts: dict[tuple[str, ...], int] = {}
    for k, _, _ in items:
        counts[k] = counts.get(k, 0) + 1
    entries = {}
    for k, e, param in items:
        if counts[k] > 1:  # e.g. the same variant under two attention implementations
            k, e.label = (*k, param), f"{e.label}[{param}]"
        entries[k] = e
    return Run(str(source), entries)


def _benchmark_entries(path: Path) -> list[tuple[dict[str, Any], Entry]]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VlmqError(f"{path}: not a readable JSON file ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise VlmqError(f"{path}: not a pytest-benchmark JSON (no 'benchmarks' list)")
    out = []
    for b in doc["benchmarks"]:
        extra = b.get("extra_info") or {}
        result = TaskResult.from_extra_info(extra) if "vlmq" in extra else None
        stats = dict(b.get("stats") or {}) or None
        label = _label(result) if result else str(b.get("fullname") or b.get("name"))
        out.append((b, Entry(label, result, stats)))
    return out


def _key(result: TaskResult | None, bench: dict[str, Any] | None = None) -> tuple[str, ...]:
    if result is None:
        return (str((bench or {}).get("fullname") or (bench or {}).get("name")),)
    return tuple(str(result.info.get(k)) for k in ("model", "variant", "task"))


def _label(r: TaskResult) -> str:
    return "/".join(str(r.info.get(k)) for k in ("model", "variant", "task"))


# -- judging ------------------------------------------------------------------------------------


def parse_thresholds(items: list[str]) -> dict[str, Threshold]:
    """['cider=2%', 'latency=0.1', 'top1=0.01abs'] -> {name: Threshold}."""
    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        text = text.strip().lower()
        try:
            if text.endswith("abs"):
                t = Threshold(float(text[:-3]), absolute=True)
            elif text.endswith("%"):
                t = Threshold(float(text[:-1]) / 100)
            else:
                t = Threshold(float(text))
        except ValueError:
            t = None
        if not sep or not name.strip() or t is None or not t.value >= 0:
            raise VlmqError(f"--threshold {item!r}: expected NAME=VALUE with VALUE like 0.05, "
                            "5% or 0.01abs")
        out[name.strip()] = t
    return out


def threshold_for(metric: str, kind: str, overrides: dict[str, Threshold]) -> Threshold:
    if metric in overrides:
        return overrides[metric]
    if kind in overrides:
        return overrides[kind]
    return Threshold(DEFAULT_THRESHOLDS.get(kind, FALLBACK_THRESHOLD))


def noise_threshold(metric: str, kind: str, overrides: dict[str, Threshold],
                    device: str = "cpu") -> Threshold:
    """The threshold when no history tells the run-to-run noise: widened to the minimum effect
    (larger for a tail) and the absolute floor of its kind on `device`, unless the user set
    one for it."""
    base = threshold_for(metric, kind, overrides)
    if metric in overrides or kind in overrides or base.absolute:
        return base
    least = NO_HISTORY_MIN_EFFECT.get(kind, 0.0)
    if TAIL.search(metric) and kind in ROUNDS_KINDS:
        least = max(least, TAIL_MIN_EFFECT)
    floors = CPU_ABSOLUTE_FLOORS if str(device).startswith("cpu") else ABSOLUTE_FLOORS
    return Threshold(max(base.value, least), floor=floors.get(kind, 0.0))


def entry_tests(ref: Entry, new: Entry, alpha: float, seed: int) -> dict[str, SigTest]:
    """The tests one entry supports: 'rounds' and one 'quality:<metric>' per paired metric."""
    out = {}
    t = rounds_test(ref.rounds(), new.rounds())
    if t:
        out["rounds"] = t
    if ref.result and new.result:
        for name, m in ref.result.metrics.items():
            pa, pb = ref.result.per_sample.get(name), new.result.per_sample.get(name)
            if m.kind == "quality" and pa and pb and len(pa) == len(pb):
                t = bootstrap_test(pa, pb, alpha, seed)
                if t:
                    out[f"quality:{name}"] = t
    return out


def judge(row: Row, tests: dict[str, SigTest], alpha: float) -> Judgement:
    """Verdict of the last value of `row` against the first, given the entry's tests."""
    va, vb = row.values[0], row.values[-1]
    if row.higher_is_better is None or va is None or vb is None:
        return Judgement(NA)
    if not (math.isfinite(va) and math.isfinite(vb)):
        return Judgement(NON_FINITE, f"{_fmt(va)} -> {_fmt(vb)}: not a number to judge")
    worse = vb < va if row.higher_is_better else vb > va
    assert row.threshold is not None
    if not row.threshold.exceeded(va, vb):
        return Judgement(OK)
    if f"history:{row.metric}" in tests:
        t = tests[f"history:{row.metric}"]
        consistent = t.higher == (vb > va)
    elif f"spread:{row.metric}" in tests:
        t = tests[f"spread:{row.metric}"]
        consistent = t.higher == (vb > va)
    elif row.kind == "quality" and f"quality:{row.metric}" in tests:
        t = tests[f"quality:{row.metric}"]
        consistent = t.higher == (vb > va)  # the per-sample mean moved like the corpus value
    elif _rounds_judged(row, tests):
        t = tests["rounds"]
        consistent = t.higher == worse  # worse latency or throughput means slower rounds
    else:
        return Judgement(REGRESSION if worse else BETTER, "threshold only")
    text = f"{t.text}, p={t.p:.3g}, Holm p={t.p_holm:.3g}"
    if not consistent or t.p_holm >= alpha:
        return Judgement(NOISE, text)
    return Judgement(REGRESSION if worse else BETTER, text)


def _pair_tests(ref_run: Run, run: Run, history: list[Run],
                overrides: dict[str, Threshold], alpha: float, seed: int,
                pasts: dict[tuple[tuple[str, ...], str], list[float]]
                ) -> dict[tuple[str, ...], dict[str, SigTest]]:
    """The tests of `run` against the reference per entry (within-run, history and spread),
    Holm-corrected together; each row's past values are recorded in `pasts`."""
    per_key = {k: entry_tests(e, run.entries[k], alpha, seed)
               for k, e in ref_run.entries.items() if k in run.entries}
    pair_rows = {k: _rows_for(ref_run.entries[k], [run.entries[k]], overrides)
                 for k in per_key}
    for k, ts in per_key.items():
        for row in pair_rows[k]:
            past = _past(history, k, row)
            pasts[(k, row.metric)] = past
            new = row.values[1]
            if row.higher_is_better is None or new is None or (
                    row.kind == "quality" and f"quality:{row.metric}" in ts):
                continue
            t = history_test(past, new)
            if t:
                ts[f"history:{row.metric}"] = t
    spread_tests(ref_run, run, per_key, pair_rows)
    holm([t for ts in per_key.values() for t in ts.values()])
    return per_key


def compare(runs: list[Run], overrides: dict[str, Threshold] | None = None,
            alpha: float = 0.01, seed: int = 0, history: list[Run] | None = None) -> list[Row]:
    """One Row per (entry, metric) of the reference run, judged against every later run.

    history: earlier runs of the reference side; with them non-quality metrics are judged
    against the spread of past values (module docstring)."""
    if len(runs) < 2:
        raise VlmqError("compare needs at least two runs")
    if not 0 < alpha < 1:
        raise VlmqError(f"alpha must be between 0 and 1, got {alpha}")
    overrides = overrides or {}
    history = history or []
    ref_run = runs[0]
    largest = interfered.largest_slowdown(runs + history)
    # tests[j][key]: the tests of run j+1 against the reference, Holm-corrected per run
    pasts: dict[tuple[tuple[str, ...], str], list[float]] = {}
    tests = [_pair_tests(ref_run, run, history, overrides, alpha, seed, pasts)
             for run in runs[1:]]
    rows = []
    for key, ref in ref_run.entries.items():
        others = [r.entries.get(key) for r in runs[1:]]
        for row in _rows_for(ref, others, overrides):
            past = pasts.get((key, row.metric), [])
            for j, entry in enumerate(others):
                if entry is None:
                    row.judgements.append(Judgement(NA, "missing"))
                    continue
                judged = tests[j][key]
                known_noise = f"history:{row.metric}" in judged or row.kind == "quality"
                threshold = row.threshold if known_noise else \
                    noise_threshold(row.metric, row.kind, overrides, _device(ref))
                ref_value = float(np.mean(past)) if f"history:{row.metric}" in judged \
                    else row.values[0]
                pair = Row(row.entry, row.metric, row.unit, row.higher_is_better, row.kind,
                           [ref_value, row.values[j + 1]], threshold)
                verdict = judge(pair, judged, alpha)
                if verdict.verdict == NON_FINITE and _gated(row.metric, ref, entry):
                    verdict = Judgement(REGRESSION, "gated metric: " + verdict.test)
                elif verdict.verdict != NON_FINITE:
                    verdict = interfered.judgement(
                        pair, ref, entry, (ref_run.label, runs[j + 1].label), largest,
                        bool(history)) or verdict
                row.judgements.append(verdict)
            rows.append(row)
    return rows


def _device(entry: Entry) -> str:
    return str(entry.result.info.get("device", "cpu")) if entry.result else "cpu"


def _gated(metric: str, *entries: Entry) -> bool:
    return any(e.result is not None and metric in e.result.gates for e in entries)


def _rounds_judged(row: Row, tests: dict[str, SigTest]) -> bool:
    return (row.kind in ROUNDS_KINDS or row.metric.startswith("time:")) and "rounds" in tests


def spread_tests(ref_run: Run, run: Run, per_key: dict[tuple[str, ...], dict[str, SigTest]],
                 pair_rows: dict[tuple[str, ...], list[Row]]) -> None:
    """Add a `spread:<metric>` test to each entry whose non-quality metric no other test
    covers: its change against the changes of the same metric in the pair's other entries
    (module docstring)."""
    # every entry's change estimates the noise; only the uncovered ones get a test from it
    changes: dict[str, list[tuple[tuple[str, ...], float, bool]]] = {}
    for k, ts in per_key.items():
        for row in pair_rows[k]:
            a, b = row.values
            if (row.higher_is_better is None or row.kind == "quality" or a is None or b is None
                    or not (a > 0 and b > 0)):
                continue
            change = math.log(b / a)
            if _scales_with_speed(row):
                change -= _speed_change(ref_run.entries[k], run.entries[k], row)
            covered = f"history:{row.metric}" in ts or _rounds_judged(row, ts)
            changes.setdefault(row.metric, []).append((k, change, covered))
    for metric, items in changes.items():
        if len(items) < MIN_SPREAD_ENTRIES:
            continue
        centre, spread = robust_centre_spread([x for _, x, _ in items])
        if spread == 0:
            continue
        text = (f"vs its change in {len(items)} entries (median {math.expm1(centre):+.1%}, "
                f"robust sd {spread:.3g} in log ratio)")
        for k, x, covered in items:
            if not covered:
                per_key[k][f"spread:{metric}"] = spread_test(x, centre, spread, text)


def _scales_with_speed(row: Row) -> bool:
    """Energy (on CPU a TDP estimate: watts x time) moves with the machine's speed."""
    return row.kind == "energy"


def _speed_change(ref: Entry, new: Entry, row: Row) -> float:
    """Log ratio of the entry's rounds (the model's own time), 0 without rounds: their mean for
    energy and means (a few slow batches move those), their median otherwise. Energy's windows
    hold every timed call, so its rounds keep the interfered ones."""
    if row.kind == "energy":
        a, b = ref.measured_rounds(), new.measured_rounds()
    else:
        a, b = ref.rounds(), new.rounds()
    stat = np.mean if row.kind == "energy" or "mean" in row.metric else np.median
    if not a or not b or stat(a) <= 0 or stat(b) <= 0:
        return 0.0
    return math.log(float(stat(b)) / float(stat(a)))


def _past(history: list[Run], key: tuple[str, ...], row: Row) -> list[float]:
    """The metric's values in the history runs and the reference (None and NaN left out)."""
    values = [_value(h.entries[key], row.metric) for h in history if key in h.entries]
    values.append(row.values[0])
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _rows_for(ref: Entry, others: list[Entry | None],
              overrides: dict[str, Threshold]) -> list[Row]:
    rows = []
    if ref.stats:
        for stat in TIMING_STATS:
            if stat in ref.stats:
                name = f"time:{stat}"
                judged = stat in JUDGED_TIMING
                rows.append(Row(ref.label, name, "s", False if judged else None, "latency",
                                [_value(e, name) if e else None for e in [ref, *others]],
                                threshold_for(name, "latency", overrides)))
    if ref.result:
        for name, m in ref.result.metrics.items():
            judged = None if m.kind in SHOWN_KINDS or name in SHOWN_METRICS \
                else m.higher_is_better
            rows.append(Row(ref.label, name, m.unit, judged, m.kind,
                            [_value(e, name) if e else None for e in [ref, *others]],
                            threshold_for(name, m.kind, overrides)))
    return rows


def _value(entry: Entry, metric: str) -> float | None:
    if metric.startswith("time:"):
        v = (entry.stats or {}).get(metric[5:])
        return None if v is None else float(v)
    m = entry.result.metrics.get(metric) if entry.result else None
    return None if m is None or m.value is None else float(m.value)


def missing(runs: list[Run]) -> list[str]:
    """Lines naming entries that some run lacks."""
    keys = dict.fromkeys(k for r in runs for k in r.entries)
    out = []
    for k in keys:
        absent = [r.label for r in runs if k not in r.entries]
        if absent:
            label = next(r.entries[k].label for r in runs if k in r.entries)
            out.append(f"{label}: missing in {', '.join(absent)}")
    return out


def incomplete(runs: list[Run]) -> list[str]:
    """Why the comparison cannot vouch for every later run: an input without vlmq results (a
    plain pytest-benchmark JSON: no quality is compared), a run sharing no entry with the
    reference, or reference entries missing from a run. One line each; empty when complete."""
    out = [f"{r.label}: no vlmq results in it (a plain pytest-benchmark JSON?), so no quality "
           "metric is compared" for r in runs if not any(e.result for e in r.entries.values())]
    ref = runs[0]
    for run in runs[1:]:
        absent = [e.label for k, e in ref.entries.items() if k not in run.entries]
        if len(absent) == len(ref.entries):
            out.append(f"{run.label}: no entry matches the reference {ref.label}")
        elif absent:
            out.append(f"{run.label}: {len(absent)} entries of the reference are missing: "
                       + ", ".join(absent))
    return out + non_finite(runs)


def non_finite(runs: list[Run]) -> list[str]:
    """One line per run naming its metrics whose value is NaN or infinite."""
    out = []
    for run in runs:
        bad = [f"{e.label} {name}={m.value}" for e in run.entries.values() if e.result
               for name, m in e.result.metrics.items()
               if m.value is not None and not math.isfinite(float(m.value))]
        if bad:
            out.append(f"{run.label}: {len(bad)} non-finite value(s): {', '.join(bad)}")
    return out


# -- output -------------------------------------------------------------------------------------


def format_table(rows: list[Row], runs: list[Run]) -> str:
    """A plain-text table: one line per entry x metric, one value (+ change, verdict) per run."""
    head = ["entry", "metric", "unit", "better", "threshold", f"[A] {runs[0].label}"]
    for i, r in enumerate(runs[1:], 1):
        tag = chr(ord("A") + i) if i < 26 else str(i)
        head += [f"[{tag}] {r.label}", "change", "verdict"]
    lines = [head]
    for row in rows:
        better = {True: "higher", False: "lower", None: "-"}[row.higher_is_better]
        cells = [row.entry, row.metric, row.unit or "-", better,
                 str(row.threshold) if row.higher_is_better is not None else "-",
                 _fmt(row.values[0])]
        for v, j in zip(row.values[1:], row.judgements, strict=True):
            cells += [_fmt(v), _change(row.values[0], v), j.verdict]
        lines.append(cells)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    text = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
            for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def to_json(rows: list[Row], runs: list[Run]) -> dict[str, Any]:
    """Valid JSON: a NaN or infinite value is written as null, and `notes` names it."""
    return {"runs": [r.label for r in runs], "rows": [{
        "entry": r.entry, "metric": r.metric, "unit": r.unit, "kind": r.kind,
        "higher_is_better": r.higher_is_better,
        "values": [v if v is None or math.isfinite(v) else None for v in r.values],
        "threshold": None if r.threshold is None else {"value": r.threshold.value,
                                                        "absolute": r.threshold.absolute},
        "judgements": [{"verdict": j.verdict, "test": j.test} for j in r.judgements],
    } for r in rows], "regressions": sum(r.regressed for r in rows),
        "notes": [f"null stands for a non-finite value ({line})" for line in non_finite(runs)]}


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def _change(a: float | None, b: float | None) -> str:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return "-"
    return f"{(b - a) / abs(a):+.1%}" if a else f"{b - a:+.4g}"
