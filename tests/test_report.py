"""Summary, plots, report.md, spot check, exports and progress bars from a synthetic run."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from PIL import Image
from report_fixtures import make_results, write_benchmark_json, write_run

from vlmq.report.build import build_report
from vlmq.report.export import BIGGER, SMALLER, benchmark_action_entries
from vlmq.report.plots import pareto_front
from vlmq.results.progress import progress, progress_enabled


def lookup(sample_id: str) -> Image.Image:
    return Image.new("RGB", (320, 200), (40 * (int(sample_id.split("-")[1]) % 6), 120, 200))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    store = write_run(tmp_path_factory.mktemp("reports"), 0, "r")
    return store, build_report(store.root, lookup)


def test_summary_has_every_metric_with_units(built) -> None:
    store, _ = built
    frame = pd.read_csv(store.summary_csv)  # plain: one header row, numbers as float64
    assert len(frame) == 8
    for column in ("latency_p50_ms", "cider", "cider_retention", "model_size_mb", "samples"):
        assert frame[column].dtype in ("float64", "int64"), column
    assert frame["cider"].dtype == "float64" and frame["latency_p50_ms"].dtype == "float64"
    units = json.loads((store.root / "summary.units.json").read_text())["units"]
    assert units["latency_p50_ms"] == "ms/sample" and units["model_size_mb"] == "MB"
    assert units["cider_retention"] == "ratio" and set(units) == set(frame.columns)
    plain = pd.read_json(store.summary_json)  # plain: a list of row records
    assert len(plain) == 8 and plain["latency_p50_ms"].dtype == "float64"
    rows = json.loads(store.summary_json.read_text())
    row = next(r for r in rows if r["variant"] == "int8" and r["task"] == "caption")
    result = store.read_result("HuggingFaceM4/tiny-llava", "int8", "caption")
    assert row["cider"] == pytest.approx(result.metrics["cider"].value)
    assert row["passed"] is (result.retention["cider"] >= 0.9 and result.retention["bleu4"] >= 0.9)
    base = next(r for r in rows if r["variant"] == "fp32" and r["task"] == "caption")
    assert base["baseline"] is True and base["passed"] is None


def test_plots_are_written_and_nonempty(built) -> None:
    store, _ = built
    names = {p.name for p in store.plots_dir.iterdir()}
    assert names == {"pareto_caption.png", "pareto_classify.png", "pareto_memory_caption.png",
                     "pareto_memory_classify.png", "memory_size.png",
                     "throughput.png", "energy.png", "combined_metrics.png"}
    for p in store.plots_dir.iterdir():
        with Image.open(p) as img:
            assert img.width > 500 and img.height > 300
            # not a blank canvas: many distinct colours
            assert len(img.convert("RGB").getcolors(maxcolors=1 << 20) or []) > 50


def test_report_md_names_tasks_plots_skips_and_failures(built) -> None:
    store, report = built
    text = report.read_text()
    failed = [r for r in store.results() if any(r.retention[q] < r.thresholds[q]
                                               for q in r.thresholds)]
    assert "## Task `caption`" in text and "## Task `classify`" in text
    assert "![combined](plots/combined_metrics.png)" in text
    assert "int8-cuda" in text and "runs on cuda only" in text
    assert "TDP" in text
    assert text.count("**FAIL**") == len(failed)
    for r in failed:
        assert f"{r.info['model']} / {r.info['variant']} / {r.info['task']}" in text


def test_spotcheck_embeds_images_and_every_variant(built) -> None:
    store, _ = built
    page = store.spotcheck_html.read_text()
    assert page.count("data:image/png;base64,") == 8  # 4 samples x 2 (model, task) groups
    assert "a caption 0" in page  # the baseline's text, and the variants that agree with it
    for v in ("int8", "nf4"):
        assert f"a {v} caption 0" in page
    assert store.spotcheck_png.stat().st_size > 10_000


def test_report_without_images_says_so(tmp_path) -> None:
    store = write_run(tmp_path, 1, "r")
    build_report(store.root)
    assert "image unavailable" in store.spotcheck_html.read_text()


def test_pareto_front_respects_direction() -> None:
    pts = [(1.0, 0.5), (2.0, 0.9), (3.0, 0.7), (0.5, 0.1)]
    assert pareto_front(pts, True) == [3, 0, 1]
    assert pareto_front(pts, False) == [3]


@pytest.mark.parametrize("source", ["json", "run"])
def test_benchmark_action_export_validates(tmp_path, source) -> None:
    if source == "json":
        src = write_benchmark_json(tmp_path / "b.json", make_results(0))
    else:
        src = write_run(tmp_path, 0, "r").root
    out = benchmark_action_entries(str(src))
    for items in out.values():
        names = [i["name"] for i in items]
        assert len(names) == len(set(names)) and items
        for item in items:
            assert set(item) <= {"name", "unit", "value", "range", "extra"}
            assert isinstance(item["name"], str) and isinstance(item["unit"], str)
            assert isinstance(item["value"], float) and math.isfinite(item["value"])
        json.dumps(items)
    bigger = {i["name"].split()[-1] for i in out[BIGGER]}
    smaller = {i["name"].split()[-1] for i in out[SMALLER]}
    assert {"cider", "top1", "throughput"} <= bigger
    assert {"latency_p50_ms", "peak_memory_mb", "model_size_mb"} <= smaller
    assert ("time:median" in smaller) == (source == "json")


def test_progress_is_quiet_under_ci(monkeypatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert not progress_enabled(True)
    monkeypatch.setenv("CI", "")
    assert not progress_enabled(False)
    bar = progress(range(5), "samples", total=5)
    assert list(bar) == [0, 1, 2, 3, 4]
    manual = progress(None, "batches", total=3, enabled=False)
    manual.update(3)
    manual.close()
