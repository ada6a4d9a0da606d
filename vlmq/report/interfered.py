"""What `vlmq compare` does with measurements another process slowed down.

Each entry records which of its timed rounds were interfered (vlmq.measure.interference,
info["interference"]) and whether its single-shot measurements were (info keys named by
vlmq.results.figures). Compare then:
  - judges rounds without their interfered ones (unless most were);
  - does not judge the speed, energy or times of an entry whose rounds were mostly interfered
    on either side: verdict "interfered", saying where and how many;
  - never judges a single-shot figure (first call, load time, compile time) whose one
    measurement was interfered on either side;
  - without history, judges a single-shot figure only when its change is beyond the largest
    slowdown interference caused anywhere in the runs compared: one-off measurements have no
    within-run spread, and a burst of load can stretch them by that much. A benchmark timed in
    fewer rounds than the rounds test needs is a single shot too (its timing statistics).
  - on a CPU, does not judge a memory figure whose region was interfered on either side
    (verdict "interfered"; the load's figures by the load, the task's peak by the load or most
    rounds): they are RSS readings, and contention moves them. Measured
    (docs/measured-results.md): bitsandbytes int8's llava-tiny vqa and textvqa tasks grew the
    RSS by 141-150 MiB beside a CPU hog and at a load average of 10, against 86-89 MiB on a
    quiet machine; fp32's did not rise (82 and 109 MiB at that load against 110 and 111).
Quality is judged as always: predictions do not depend on the machine's load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlmq.measure.interference import slowdown as stretch
from vlmq.report.verdicts import NOISE, Judgement
from vlmq.results.figures import LOAD, once_flag
from vlmq.stats.timing import MIN_ROUNDS

if TYPE_CHECKING:
    from vlmq.report.compare import Entry, Row, Run

INTERFERED = "interfered"
# what a busy machine moves; memory and size it does not
TIMED_KINDS = ("latency", "throughput", "energy", "time")


def _found(entry: Entry | None) -> dict[str, Any]:
    if entry is None or entry.result is None:
        return {}
    return entry.result.info.get("interference") or {}


def flags(entry: Entry) -> list[bool]:
    return [bool(x) for x in _found(entry).get("interfered") or []]


def mostly(entry: Entry | None) -> bool:
    marks = flags(entry) if entry is not None else []
    return 2 * sum(marks) > len(marks)


def clean_rounds(entry: Entry, rounds: list[float]) -> list[float]:
    """`rounds` (the entry's timed rounds, in order) without the interfered ones, unless most
    were or the count does not match."""
    marks = flags(entry)
    if len(marks) != len(rounds) or mostly(entry):
        return rounds
    return [r for r, bad in zip(rounds, marks, strict=True) if not bad]


def slowdown(entry: Entry) -> float:
    """The largest factor by which interference stretched one of the entry's rounds."""
    found = _found(entry)
    utilization = found.get("utilization") or []
    if len(utilization) != len(flags(entry)):
        return 1.0
    waited = found.get("waited")
    return stretch(utilization, flags(entry), found.get("reference"),
                   waited if waited and len(waited) == len(utilization) else None)


def largest_slowdown(runs: list[Run]) -> float:
    return max([slowdown(e) for run in runs for e in run.entries.values()], default=1.0)


def judgement(row: Row, ref: Entry, new: Entry, labels: tuple[str, str], largest: float,
              history: bool) -> Judgement | None:
    """The verdict interference imposes on `row` (values [reference, new]), or None to judge
    it as usual."""
    if row.higher_is_better is None:
        return None
    if row.kind == "memory":
        return _rss_under_contention(row, ref, new, labels)
    if row.kind not in TIMED_KINDS:
        return None
    busy = [f"{label} ({sum(flags(e))} of {len(flags(e))} rounds)"
            for label, e in zip(labels, (ref, new), strict=True) if mostly(e)]
    if busy:
        return Judgement(INTERFERED, "most timed rounds interfered in " + ", ".join(busy))
    key = once_flag(row.metric)
    if key:
        hit = [label for label, e in zip(labels, (ref, new), strict=True)
               if e.result is not None and e.result.info.get(key)]
        if hit:
            return Judgement(INTERFERED, f"its one measurement was interfered in {', '.join(hit)}")
    elif not _too_few_rounds(row, ref, new):
        return None
    a, b = row.values
    if history or a is None or b is None or a <= 0 or b <= 0:
        return None
    if max(a, b) / min(a, b) <= largest:
        return Judgement(NOISE, f"single shot, within the x{largest:.2f} slowdown interference "
                                f"caused in these runs")
    return None


def _rss_under_contention(row: Row, ref: Entry, new: Entry, labels: tuple[str, str]
                          ) -> Judgement | None:
    """On a CPU the memory figures are RSS readings, and contention moves them: not judged when
    their region was interfered on either side (the load for the load's figures; the load or
    most rounds for the task's)."""
    key = once_flag(row.metric)
    hit = [label for label, e in zip(labels, (ref, new), strict=True)
           if e.result is not None and str(e.result.info.get("device", "cpu")).startswith("cpu")
           and (e.result.info.get(key or LOAD) or (not key and mostly(e)))]
    if not hit:
        return None
    return Judgement(INTERFERED, f"an RSS reading under contention in {', '.join(hit)}")


def _too_few_rounds(row: Row, *entries: Entry) -> bool:
    """A pytest-benchmark timing with fewer rounds than the rounds test needs (a benchmark timed
    once, such as the sensitivity sweep): a single shot too, with no record of its own
    interference."""
    return row.metric.startswith("time:") and any(
        int((e.stats or {}).get("rounds") or 0) < MIN_ROUNDS for e in entries)


def notes(runs: list[Run]) -> list[str]:
    """One line per entry with interfered rounds, and one per entry whose single-shot
    measurements were interfered, per run."""
    out = []
    for run in runs:
        for e in run.entries.values():
            marks = flags(e)
            if any(marks):
                what = "mostly interfered: its speed, energy and times not judged" if mostly(e) \
                    else "left out of its timing"
                out.append(f"{run.label}: {e.label}: {sum(marks)} of {len(marks)} timed rounds "
                           f"interfered ({what})")
            hit = single_shots_hit(e)
            if hit:
                out.append(f"{run.label}: {e.label}: single-shot measurement interfered "
                           f"({', '.join(hit)} not judged)")
    return out


def single_shots_hit(entry: Entry) -> list[str]:
    """The entry's single-shot figures whose one measurement was interfered."""
    info = entry.result.info if entry.result is not None else {}
    return [name for name in (entry.result.metrics if entry.result else {})
            if once_flag(name) and info.get(once_flag(name))]
