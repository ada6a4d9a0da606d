"""NaN or infinity in a metric is never "no regression" (issue 22, item 4): compare names it,
the comparison is incomplete (exit 3) or, for a gated metric, a regression (exit 1), and
`--json` stays valid JSON (null, with a note)."""

from __future__ import annotations

import json
import math

import pytest
from report_fixtures import make_results, write_benchmark_json

from vlmq.cli import main

VIT = "vit-tiny"


def _candidate(value: float, gated: bool) -> list:
    results = make_results(2)
    int8 = next(r for r in results if r.info["model"] == VIT and r.info["variant"] == "int8")
    int8.metrics["top1"].value = value
    if gated:
        int8.gates["top1"] = {"verdict": "pass", "threshold": 0.9}
    return results


@pytest.mark.parametrize(("value", "gated", "code", "verdict"), [
    (math.nan, True, 1, "REGRESSION"),
    (math.nan, False, 3, "NON-FINITE"),
    (math.inf, True, 1, "REGRESSION"),
    (-math.inf, False, 3, "NON-FINITE"),
])
def test_non_finite_candidate_is_never_no_regression(tmp_path, capsys, value, gated, code,
                                                     verdict) -> None:
    ref = write_benchmark_json(tmp_path / "a.json", make_results(1))
    # json.dumps writes NaN / Infinity tokens, as a run's JSON held them in the report
    cand = write_benchmark_json(tmp_path / "b.json", _candidate(value, gated))
    out_json = tmp_path / "cmp.json"
    assert main(["compare", str(ref), str(cand), "--json", str(out_json)]) == code
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines()
               if line.startswith(f"{VIT}/int8/classify") and " top1 " in line)
    assert verdict in row and "+nan%" not in row
    assert f"INCOMPLETE: {cand}: 1 non-finite value(s): {VIT}/int8/classify top1={value}" in out
    assert "0 regression(s)" not in out or code == 3
    doc = json.loads(out_json.read_text(), parse_constant=_refuse)  # strict JSON
    top1 = next(r for r in doc["rows"] if r["entry"].startswith(f"{VIT}/int8")
                and r["metric"] == "top1")
    assert top1["values"][1] is None
    assert any("non-finite" in n and "top1" in n for n in doc["notes"])


def _refuse(token: str) -> None:
    raise AssertionError(f"{token} is not JSON")
