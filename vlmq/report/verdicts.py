"""The verdicts `vlmq compare` gives a metric, apart from compare itself so that the rules
that impose one (vlmq.report.interfered) need not import it back."""

from __future__ import annotations

from dataclasses import dataclass

REGRESSION, BETTER, NOISE, OK, NA = "REGRESSION", "better", "not significant", "ok", "n/a"
# a NaN or infinite value is never "no regression": the row says so, the comparison is
# incomplete (`non_finite`), and a gated metric's non-finite value is a regression
NON_FINITE = "NON-FINITE"


@dataclass
class Judgement:
    verdict: str
    test: str = ""
