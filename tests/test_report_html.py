"""report.html and history.html without a browser: what they hold and which points they flag.
(tests/test_browser.py opens the same pages in Chromium.)"""

from __future__ import annotations

import json
import re

import pytest
from history_fixtures import DEGRADED, write_history
from report_fixtures import make_results, write_benchmark_json, write_run

from vlmq.cli import main
from vlmq.errors import VlmqError
from vlmq.report.compare import REGRESSION, compare, load_run
from vlmq.report.history import judge_steps, load_history
from vlmq.report.html import verdict_section, write_html_report
from vlmq.report.view import RunView


def test_verdicts_fall_back_to_point_retention_without_gates() -> None:
    results = make_results(0)
    rows = RunView(results).verdict_rows()
    gated = [(r, q) for r in results for q in r.thresholds]
    assert len(rows) == len(gated)
    for row in rows:
        r = next(r for r in results if r.info["variant"] == row["variant"]
                 and r.info["model"] == row["model"])
        ok = r.retention[row["metric"]] >= r.thresholds[row["metric"]]
        assert row["verdict"] == ("pass" if ok else "fail") and row["low"] is None


def test_verdicts_read_interval_gates_when_present() -> None:
    results = make_results(0)
    nf4 = next(r for r in results if r.info["variant"] == "nf4" and r.info["task"] == "classify")
    nf4.gates = {"top1": {"retention": 0.93, "low": 0.85, "high": 1.01, "confidence": 0.95,
                          "threshold": 0.9, "verdict": "inconclusive", "method": "bootstrap",
                          "n": 64, "samples_needed": 410}}
    row = next(r for r in RunView(results).verdict_rows() if r["variant"] == "nf4"
               and r["task"] == "classify")
    assert (row["low"], row["high"], row["verdict"]) == (0.85, 1.01, "inconclusive")
    section = "".join(verdict_section(RunView(results)))
    assert "[0.850, 1.010] <span class='muted'>95%</span>" in section
    assert "<td class='inconclusive'>inconclusive</td>" in section
    assert "bootstrap, 64 samples; about 410 would decide it" in section
    assert "1 inconclusive" in section


def test_report_html_is_one_self_contained_file(tmp_path) -> None:
    store = write_run(tmp_path, 0, "r")
    page = write_html_report(store).read_text()
    # nothing fetched: no external script, stylesheet, image or frame
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=['\"]?(https?:)?//", page)
    assert "<script src" not in page and "<link" not in page
    assert "Plotly.newPlot" in page and page.count("class='sample'") > 0
    for r in store.results():
        assert f"<td>{r.info['variant']}</td>" in page


def test_history_flags_only_the_degraded_variant(tmp_path) -> None:
    history = load_history([str(write_history(tmp_path))])
    assert [s.run.label for s in history] == ["0001", "0002", "0003"]
    flags = judge_steps(history)
    bad = [(f.run, f.key, f.metric) for f in flags if f.verdict == REGRESSION]
    assert bad == [(2, DEGRADED[:3], DEGRADED[3])]
    # the same rule as `vlmq compare PREVIOUS THIS`
    rows = compare([history[1].run, history[2].run])
    assert [(r.entry, r.metric) for r in rows if r.regressed] == [("/".join(DEGRADED[:3]),
                                                                    DEGRADED[3])]


def test_history_orders_by_time_and_takes_a_run_once(tmp_path) -> None:
    late = write_run(tmp_path / "runs", 1, "20261123-120000-beef")
    early = write_run(tmp_path / "runs", 0, "20261120-120000-abcd")
    early.write_machine({"cpu_model": "Xeon", "torch_version": "2.13.0+cpu"})
    doc_path = write_benchmark_json(tmp_path / "late.json", make_results(1))
    doc = json.loads(doc_path.read_text())
    doc.update(datetime="2026-11-23T12:00:00+00:00", vlmq={"run_id": late.run_id})
    doc_path.write_text(json.dumps(doc))
    history = load_history([str(tmp_path / "runs"), str(doc_path)])
    assert [s.run.label for s in history] == [early.run_id, "late"]
    assert history[0].machine == "Xeon, torch 2.13.0+cpu"
    assert history[1].commit.startswith("0000000000 on main")


def test_history_command(tmp_path, capsys) -> None:
    out = tmp_path / "h" / "history.html"
    assert main(["history", str(write_history(tmp_path)), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "REGRESSION: 0003 vit-tiny / int8 / classify top1" in text
    assert "3 runs, 1 regression(s) flagged" in text and out.is_file()
    assert main(["history", str(tmp_path / "missing"), "--out", str(out)]) == 2
    with pytest.raises(VlmqError, match="no saved runs"):
        load_history([str(tmp_path / "h")])


def test_history_reads_what_compare_reads(tmp_path) -> None:
    store = write_run(tmp_path, 0, "20261120-120000-abcd")
    assert set(load_history([str(store.root)])[0].run.entries) == set(
        load_run(str(store.root)).entries)
