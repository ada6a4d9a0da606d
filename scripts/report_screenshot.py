"""Rebuild a run's report.html from a pytest-benchmark JSON and screenshot its first screen.

    python scripts/report_screenshot.py A1.json docs/report-first-screen.png

The JSON's vlmq results are written into a fresh run folder (in a temporary directory), the
report is built there, and Chromium (Debian's, or $VLMQ_CHROMIUM) photographs the top 1400x900
pixels of report.html.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from vlmq.report.build import build_report
from vlmq.report.compare import load_run
from vlmq.results.store import RunStore


def main(source: str, out: str) -> None:
    run = load_run(source)
    results = [e.result for e in run.entries.values() if e.result]
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(tmp, Path(source).stem)
        variants = list(dict.fromkeys(str(r.info["variant"]) for r in results))
        store.write_config({"variants": variants, "samples": results[0].info.get("samples"),
                            "device": results[0].info.get("device"), "gate": "significant"})
        for r in results:
            store.write_result(r)
        build_report(store.root)
        chromium = os.environ.get("VLMQ_CHROMIUM") or shutil.which("chromium")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto((store.root / "report.html").as_uri())
            page.wait_for_selector(".plotly .main-svg")
            page.screenshot(path=out)
            browser.close()
    print(out)


if __name__ == "__main__":
    main(*sys.argv[1:3])
