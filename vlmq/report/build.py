"""build_report: everything a finished (or interrupted) run folder shows, rebuilt from disk."""

from __future__ import annotations

from pathlib import Path

from vlmq.report.html import write_html_report
from vlmq.report.markdown import write_report
from vlmq.report.plots import plot_all
from vlmq.report.spotcheck import ImageLookup, write_spotcheck
from vlmq.report.view import RunView
from vlmq.results.store import RunStore
from vlmq.results.summary import write_summary


def build_report(run_dir: str | Path, image_lookup: ImageLookup | None = None) -> Path:
    """Write summary.json/csv, plots/, spotcheck.html/png, report.html and report.md; returns
    report.md."""
    store = RunStore.open(run_dir)
    write_summary(store)
    view = RunView.of(store.results(), store.read_config())
    plots = plot_all(view.results, store.plots_dir, view.order)
    spot = write_spotcheck(store, image_lookup)
    write_html_report(store, image_lookup, view)
    return write_report(store, plots, spot, view)
