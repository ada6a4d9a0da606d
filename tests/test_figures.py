"""Each figure's definition is the one place its region is written: the docs page's table is
generated from the definitions and must match them."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmq.results.figures import (
    END,
    FIGURES,
    START,
    once_flag,
    put,
    regions_table,
    shown_only,
    with_table,
)
from vlmq.results.schema import TaskResult

PAGE = Path(__file__).resolve().parents[1] / "docs" / "measurement.md"


def test_the_docs_table_matches_the_definitions() -> None:
    page = PAGE.read_text()
    assert START in page and END in page
    assert with_table(page) == page, (
        "docs/measurement.md's table differs from vlmq/results/figures.py: run "
        "`python -m vlmq.results.figures docs/measurement.md`")


def test_with_table_replaces_only_the_marked_part() -> None:
    page = f"intro\n{START}\nold\n{END}\noutro\n"
    assert with_table(page) == f"intro\n{START}\n{regions_table()}\n{END}\noutro\n"


def test_put_takes_unit_direction_and_kind_from_the_definition() -> None:
    result = TaskResult(info={})
    put(result, "first_call_s", 1.5)
    m = result.metrics["first_call_s"]
    assert (m.unit, m.higher_is_better, m.kind, m.value) == ("s", False, "time", 1.5)
    with pytest.raises(KeyError):
        put(result, "undefined_figure", 1.0)


def test_single_shot_figures_name_their_interference_flag() -> None:
    assert once_flag("first_call_s") == "first_call_interfered"
    assert once_flag("load_time_s") == "load_interfered"
    assert once_flag("latency_p50_ms") == "" and once_flag("cider") == ""
    assert all(f.region and f.kind for f in FIGURES.values())


def test_context_figures_are_shown_and_say_why() -> None:
    assert shown_only("process_peak_rss_mib") and shown_only("e2e_latency_p50_ms")
    assert not shown_only("model_peak_memory_mib") and not shown_only("load_peak_memory_mib")
    assert not shown_only("cider")
    assert "high-water mark" in regions_table()
