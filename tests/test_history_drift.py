"""Drift across many runs: change points in vlmq history / compare --history and history.html."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_fixtures import make_results, write_benchmark_json

from vlmq.cli import main
from vlmq.report.compare import load_run
from vlmq.report.drift import drifts

GROWN = ("vit-tiny", "int8")  # 5% more peak memory from the 21st run on (index 20)
METRIC = "peak_memory_mb"


@pytest.fixture(scope="module")
def thirty(tmp_path_factory) -> list[Path]:
    """30 saved runs a day apart; vit-tiny int8 needs 5% more memory from index 20 on (a step
    no neighbouring pair flags: compare's memory threshold is wider), the rest as usual."""
    root = tmp_path_factory.mktemp("drift")
    paths = []
    for n in range(30):
        results = make_results(n)
        for r in results:
            if n >= 20 and (r.info["model"], r.info["variant"]) == GROWN:
                r.metrics[METRIC].value *= 1.05
        path = write_benchmark_json(root / f"run{n:02d}.json", results, save_data=False)
        doc = json.loads(path.read_text())
        doc["datetime"] = f"2026-10-{n + 1:02d}T10:00:00+00:00"
        path.write_text(json.dumps(doc))
        paths.append(path)
    return paths


def test_the_slowed_entry_is_flagged_at_run_20(thirty) -> None:
    runs = [load_run(str(p)) for p in thirty]
    found = [d for d in drifts(runs) if d.key[:2] == GROWN and d.metric == METRIC]
    assert [d.point.index for d in found] == [20]
    assert 0.03 < found[0].point.change < 0.07
    flat = [d for d in drifts(runs[:20]) if d.metric == METRIC]
    assert flat == []


def test_compare_history_prints_the_change_point(thirty, capsys) -> None:
    main(["compare", str(thirty[-2]), str(thirty[-1]),
          *[a for p in thirty[:-2] for a in ("--history", str(p))], "--allow-missing"])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("CHANGE POINT")
                and "vit-tiny/int8" in x and METRIC in x)
    assert "from run 21 of 30 (" in line and "run20.json)" in line
    assert re.search(r"\(\+[3-7]\.\d%\)", line)


def test_history_page_opens_on_what_changed(thirty, tmp_path, capsys) -> None:
    out = tmp_path / "history.html"
    assert main(["history", *map(str, thirty), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"CHANGE POINT: run20 vit-tiny / int8 / classify peak_memory_mb level "
                     r"\S+ -> \S+ \(\+[3-7]\.\d%\)", text)
    page = out.read_text()
    assert "change point(s)</b>" in page and "id='all'" in page
    data = json.loads(re.search(r"Plotly.newPlot\(\s*\"history\",\s*(\[.*?\])\s*,\s*\{",
                                page, re.S)[1])
    # the page opens on a metric where a level moved ...
    opened = {t["meta"]["metric"] for t in data if t.get("visible") is True}
    assert len(opened) == 1 and opened <= set(re.findall(r"^CHANGE POINT: .* (\S+) level ",
                                                         text, re.M))
    # ... and on each metric shows the entries that moved and the baselines; the rest one
    # click away (the 'every entry' box)
    shown = {t["name"] for t in data if t["meta"]["metric"] == METRIC and t["meta"]["focus"]}
    assert shown == {"vit-tiny / int8 / classify", "CHANGE POINT vit-tiny / int8 / classify",
                     "vit-tiny / fp32 / classify", "HuggingFaceM4/tiny-llava / fp32 / caption"}
