"""Which variant to ship under a budget: every gate passed, every limit met, ranked.

Read from the decision matrix. A variant qualifies when, on every task that matters, no gate
fails and none is inconclusive (an undecided gate is never recommended silently: it is listed
with the samples that would decide it), and every limit of the budget is met. A limit is met
when the whole interval of the measured ratio is within it, missed when the whole interval is
beyond it, and undecided when the interval straddles it (the measurement cannot tell): an
undecided limit does not qualify either. Footprint and energy are single measurements, judged
by their value. The qualifying variants are ranked by what the budget names (memory, latency or
energy); the others are listed with what ruled them out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from vlmq.budget import Budget
from vlmq.report.decision import Cell, DecisionMatrix, Interval, MatrixRow

MET, MISSED, UNDECIDED = "met", "missed", "undecided"


@dataclass
class Candidate:
    row: MatrixRow
    tasks: list[str]
    blocked: list[str] = field(default_factory=list)  # what rules it out, one line each
    binding: list[str] = field(default_factory=list)  # the limits or "gates" that did it
    missed: bool = False  # a gate fails, a task is missing or a limit is missed outright

    @property
    def qualifies(self) -> bool:
        return not self.blocked

    def cost(self, rank_by: str) -> float:
        """The ranking key (lower is better); inf where not measured."""
        value = {"memory": self.row.footprint, "latency": self.latency().value
                 if self.latency() else None, "energy": self.energy()}[rank_by]
        return float("inf") if value is None else float(value)

    def latency(self) -> Interval | None:
        """The worst (highest) latency ratio over the tasks that matter."""
        have = [c.latency_ratio for t in self.tasks if (c := self.row.cells.get(t))
                and c.latency_ratio is not None]
        return max(have, key=lambda iv: iv.value) if have else None

    def energy(self) -> float | None:
        have = [c.energy_ratio for t in self.tasks if (c := self.row.cells.get(t))
                and c.energy_ratio is not None]
        return max(have) if have else None


@dataclass
class Recommendation:
    budget: Budget
    ranked: list[Candidate]  # qualifying, best first
    others: list[Candidate]  # ruled out, with why
    unit: str = ""  # of the footprint

    @property
    def choice(self) -> Candidate | None:
        return self.ranked[0] if self.ranked else None

    def binding(self) -> str | None:
        """With no qualifier: the gates, or the limit that rules out most of the variants whose
        gates all pass."""
        if self.ranked:
            return None
        passing = [c for c in self.others if "gates" not in c.binding]
        if not passing:
            return "gates"
        counts = Counter(b for c in passing for b in c.binding)
        return counts.most_common(1)[0][0] if counts else None


def _judge(value: Interval | None, limit: float) -> str:
    if value is None:
        return UNDECIDED
    low = value.low if value.low is not None else value.value
    high = value.high if value.high is not None else value.value
    return MET if high <= limit else MISSED if low > limit else UNDECIDED


def _ratio_text(iv: Interval) -> str:
    return f"{iv.value:.2f}×" + (f" [{iv.low:.2f}..{iv.high:.2f}]" if iv.has_interval else "")


def _gate_lines(cand: Candidate) -> None:
    for task in cand.tasks:
        cell: Cell | None = cand.row.cells.get(task)
        if cell is None:
            cand.blocked.append(f"did not run {task}")
            cand.binding.append("gates")
            cand.missed = True
        elif cell.verdict in ("fail", "inconclusive", "superseded"):
            iv = cell.retention
            what = f"{cell.metric} retention {iv.value:.1%}" + (
                f" [{iv.low:.1%}..{iv.high:.1%}]" if iv.has_interval else "") + \
                f" vs {cell.threshold:.1%}" if iv and cell.threshold is not None else ""
            word = "fails" if cell.verdict == "fail" else "is undecided (more samples decide it)"
            cand.blocked.append(f"gate on {task} {word}: {what}".rstrip(": "))
            cand.binding.append("gates")
            cand.missed = cand.missed or cell.verdict == "fail"


def _limit_lines(cand: Candidate, budget: Budget, unit: str) -> None:
    row = cand.row
    for name, limit in budget.limits.items():
        if name == "max_memory_mib":
            value = None if row.footprint is None else Interval(row.footprint)
            text = f"footprint {row.footprint:.4g} {unit}" if value else "footprint not measured"
        elif name == "max_latency_ratio":
            value = Interval(1.0) if row.baseline else cand.latency()
            text = f"latency ratio {_ratio_text(value)}" if value else "latency not measured"
        else:
            energy = 1.0 if row.baseline else cand.energy()
            value = None if energy is None else Interval(energy)
            text = f"energy ratio {energy:.2f}×" if value else "energy not measured"
        verdict = _judge(value, limit)
        if verdict == MISSED:
            cand.blocked.append(f"{text} > {name} {limit:g}")
            cand.missed = True
        elif verdict == UNDECIDED:
            cand.blocked.append(f"{text} straddles {name} {limit:g}: undecided, not met")
        if verdict != MET:
            cand.binding.append(name)


def recommend(matrix: DecisionMatrix, budget: Budget) -> Recommendation:
    """Judge every model x variant of the matrix against the gates and the budget."""
    cands = []
    for row in matrix.rows:
        if budget.models and row.model not in budget.models:
            continue
        tasks = list(budget.tasks) or list(row.cells)
        cand = Candidate(row, tasks)
        if not row.baseline:
            _gate_lines(cand)
        _limit_lines(cand, budget, matrix.footprint_unit)
        cands.append(cand)
    order = [budget.rank_by, *(k for k in ("memory", "latency", "energy") if k != budget.rank_by)]
    ranked = sorted((c for c in cands if c.qualifies),
                    key=lambda c: tuple(c.cost(k) for k in order))
    return Recommendation(budget, ranked, [c for c in cands if not c.qualifies],
                          matrix.footprint_unit)


def recommendation_text(rec: Recommendation) -> str:
    """The answer, the runners-up and why every other variant lost, as terminal lines."""
    limits = ", ".join(f"{k} {v:g}" for k, v in rec.budget.limits.items()) or "no limits"
    lines = [f"budget: {limits}; ranked by {rec.budget.rank_by}"]
    if rec.choice is None:
        lines.append(f"NO VARIANT QUALIFIES: the binding constraint is {rec.binding()}")
    else:
        lines.append(f"RECOMMENDED: {rec.choice.row.label} ({_summary(rec.choice, rec.unit)})")
    for i, c in enumerate(rec.ranked[1:], 2):
        lines.append(f"  {i}. {c.row.label} ({_summary(c, rec.unit)}): qualifies, ranked lower by "
                     f"{rec.budget.rank_by}")
    for c in rec.others:
        tag = "lost" if c.missed else "undecided"
        lines.append(f"  {tag}: {c.row.label}: " + "; ".join(c.blocked))
    return "\n".join(lines)


def _summary(c: Candidate, unit: str) -> str:
    lat = c.latency()
    foot = c.row.footprint
    parts = [f"footprint {foot:.4g} {unit}".rstrip() if foot is not None else "",
             f"latency {_ratio_text(lat)}" if lat and not c.row.baseline else "",
             f"energy {c.energy():.2f}×" if c.energy() is not None and not c.row.baseline
             else "", "the baseline itself" if c.row.baseline else ""]
    return ", ".join(p for p in parts if p)
