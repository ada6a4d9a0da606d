"""build_report: everything a finished (or interrupted) run folder shows, rebuilt from disk."""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
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
    # the plots (most of the report's time) are drawn by a forked process while this one
    # writes the spot check and the HTML page: the same files, on two cores at once
    pool = _fork_pool()
    drawing = pool.submit(plot_all, view.results, store.plots_dir, view.order) if pool else None
    try:
        spot = write_spotcheck(store, image_lookup)
        write_html_report(store, image_lookup, view)
        plots = (drawing.result() if drawing is not None
                 else plot_all(view.results, store.plots_dir, view.order))
    finally:
        if pool is not None:
            pool.shutdown()
    return write_report(store, plots, spot, view)


def _fork_pool() -> ProcessPoolExecutor | None:
    """One forked worker (it inherits the loaded modules, so it starts at once); None off
    Linux, where fork is missing or unsafe (the plots are then drawn in turn)."""
    if not sys.platform.startswith("linux"):
        return None
    return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
