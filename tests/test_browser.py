"""report.html and history.html in a real headless Chromium (Playwright), opened from file://.

Each page must render with no console error and no network request at all (every request that
is not file:// is aborted and fails the test), draw its points, and its filter, selectors and
sorting must work. The browser is the system's Chromium (Debian's `chromium`, installed by
scripts/setup.sh), or $VLMQ_CHROMIUM, or Playwright's own download where that exists. Without
any, the tests skip with the reason, unless VLMQ_REQUIRE_BROWSER=1 (set by .ci/run), where
a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from history_fixtures import DEGRADED, write_history
from PIL import Image
from report_fixtures import write_run

from vlmq.report.history import write_history as write_history_page
from vlmq.report.html import write_html_report

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def _unavailable(reason: str) -> None:
    if os.environ.get("VLMQ_REQUIRE_BROWSER") == "1":
        pytest.fail(f"VLMQ_REQUIRE_BROWSER=1 but {reason}; run scripts/setup.sh")
    pytest.skip(reason)


def chromium_path() -> str | None:
    """$VLMQ_CHROMIUM, else the first Chromium on PATH; None: try Playwright's own."""
    env = os.environ.get("VLMQ_CHROMIUM")
    if env:
        return env
    return next((p for name in CANDIDATES if (p := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        path = chromium_path()
        try:
            b = p.chromium.launch(executable_path=path)
        except Error as exc:
            first = str(exc).strip().splitlines()[0]
            _unavailable(f"no Chromium to launch ({path or 'Playwright download'}: {first})")
        yield b
        b.close()


class Opened:
    """A page opened from file:// with every console error and outside request recorded."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector(".plotly-graph-div .main-svg")

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def count(self, selector: str) -> int:
        return self.page.locator(selector).count()

    def check_clean(self) -> None:
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.requests == [], f"network requests: {self.requests}"


def lookup(sample_id: str) -> Image.Image:
    return Image.new("RGB", (96, 64), (30 * (int(sample_id.split("-")[1]) % 8), 120, 200))


@pytest.fixture(scope="module")
def report(browser, tmp_path_factory) -> Iterator[tuple[Opened, Any]]:
    store = write_run(tmp_path_factory.mktemp("run"), 0, "r")
    opened = Opened(browser, write_html_report(store, lookup))
    yield opened, store
    opened.page.close()


@pytest.fixture(scope="module")
def history(browser, tmp_path_factory) -> Iterator[Opened]:
    root = tmp_path_factory.mktemp("history")
    path, _, _ = write_history_page([str(write_history(root))], root / "history.html")
    opened = Opened(browser, path)
    yield opened
    opened.page.close()


def test_report_renders_offline_with_every_variant_and_task(report) -> None:
    page, store = report
    page.check_clean()
    results = store.results()
    tasks = list(dict.fromkeys(r.info["task"] for r in results))
    for i, task in enumerate(tasks):
        shown = page.page.locator(f"#task-{i} tbody tr td:nth-child(2)").all_inner_texts()
        assert sorted(shown) == sorted(r.info["variant"] for r in results
                                       if r.info["task"] == task)
        # one drawn marker per model x variant on the task's quality-vs-latency plot
        points = page.count(f"#pareto-latency-{i} .scatterlayer .trace .points path")
        assert points == len(shown)
        assert page.count(f"#pareto-memory-{i} .scatterlayer .trace .points path") == len(shown)
    # the decision opens the page: its first table starts on the first screen
    assert page.page.locator("table.decision").first.bounding_box()["y"] < 900
    assert page.count("#memory .barlayer .point path") == 16  # 8 memory + 4 size x 2 models
    assert page.count("img[src^='data:image/png;base64,']") == page.count(".sample")


def test_report_hover_names_variant_task_and_interval(report) -> None:
    page, _ = report
    point = page.page.locator("#pareto-latency-0 .scatterlayer .trace .points path").nth(1)
    box = point.bounding_box()
    page.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.page.locator("#pareto-latency-0 .hoverlayer .hovertext")
    hover.wait_for()
    text = hover.text_content()
    assert "on caption" in text and "retention" in text and "threshold" in text


def test_report_disagreement_filter(report) -> None:
    page, _ = report
    samples = page.page.locator(".sample")
    total = samples.count()
    agreeing = page.count(".sample[data-disagree='0']")
    assert 0 < agreeing < total  # the fixture has both kinds
    page.page.check("#only-disagree")
    visible = [s.is_visible() for s in samples.all()]
    assert sum(visible) == total - agreeing
    assert page.page.inner_text("#spot-count") == f"{total - agreeing} of {total}"
    assert all(page.page.locator(".sample[data-disagree='0']").evaluate_all(
        "els => els.map(e => e.offsetParent === null)"))
    page.page.uncheck("#only-disagree")
    assert all(s.is_visible() for s in samples.all())


def test_report_tables_sort(report) -> None:
    page, _ = report
    header = page.page.locator("#verdicts th", has_text="retention")
    values = "#verdicts tbody td:nth-child(6)"
    header.click()
    up = [float(v) for v in page.page.locator(values).evaluate_all(
        "els => els.map(e => e.dataset.v)")]
    assert up == sorted(up) and len(set(up)) > 1
    header.click()
    down = [float(v) for v in page.page.locator(values).evaluate_all(
        "els => els.map(e => e.dataset.v)")]
    assert down == sorted(up, reverse=True)


def test_history_renders_offline_and_shows_the_regression_first(history) -> None:
    history.check_clean()
    assert history.page.input_value("#metric") == DEGRADED[3]
    # opens on what changed: the degraded entry and the baseline x 3 runs, plus one red cross
    assert history.count("#history .scatterlayer .trace .points path") == 2 * 3 + 1
    history.page.check("#all")  # every entry: 4 vit-tiny variants x 3 runs, and the cross
    assert history.count("#history .scatterlayer .trace .points path") == 4 * 3 + 1
    history.page.uncheck("#all")
    legend = history.page.locator("#history .legendtext").all_text_contents()
    assert f"REGRESSION {' / '.join(DEGRADED[:3])}" in legend
    flagged = history.page.locator("#flags tbody tr").all_inner_texts()
    assert len(flagged) == 1 and "0003" in flagged[0] and "REGRESSION" in flagged[0]


def test_history_hover_names_run_commit_and_machine(history) -> None:
    page = history.page
    page.select_option("#metric", "cider")
    page.select_option("#variant", "")
    point = page.locator("#history .scatterlayer .trace .points path").first
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator("#history .hoverlayer .hovertext")
    hover.wait_for()
    text = hover.text_content()
    assert "run 0001" in text and f"commit {'1' * 10} on main" in text and "machine ci" in text


def test_history_metric_and_variant_selectors(history) -> None:
    page = history.page
    page.select_option("#metric", "cider")
    page.select_option("#variant", "")
    assert history.count("#history .scatterlayer .trace .points path") == 3  # the baseline
    page.check("#all")
    assert history.count("#history .scatterlayer .trace .points path") == 4 * 3
    assert "cider" in page.text_content("#history .g-ytitle")
    assert not any(t.startswith("REGRESSION")
                   for t in page.locator("#history .legendtext").all_text_contents())
    page.select_option("#variant", "int8")
    assert history.count("#history .scatterlayer .trace .points path") == 3
    assert page.locator("#history .legendtext").all_text_contents() == [
        "HuggingFaceM4/tiny-llava / int8 / caption"]
    page.select_option("#metric", DEGRADED[3])
    assert history.count("#history .scatterlayer .trace .points path") == 3 + 1
    page.uncheck("#all")
    history.check_clean()


def test_the_guards_catch_requests_and_console_errors(browser, tmp_path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<div class='plotly-graph-div'><svg class='main-svg'></svg></div>"
                    "<img src='https://example.invalid/x.png'><script>console.error('boom')"
                    "</script>")
    opened = Opened(browser, page)
    opened.page.wait_for_timeout(200)
    with pytest.raises(AssertionError, match="console errors"):
        opened.check_clean()
    assert opened.requests == ["https://example.invalid/x.png"]
    opened.page.close()
