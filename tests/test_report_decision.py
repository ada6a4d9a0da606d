"""The run view and the decision matrix that opens report.md, report.html and the terminal."""

from __future__ import annotations

from report_fixtures import make_results, write_run

from vlmq.report.build import build_report
from vlmq.report.decision import decision_matrix
from vlmq.report.matrix_render import matrix_text
from vlmq.report.terminal import decision_lines
from vlmq.report.view import RunView, worst


def _gate(low: float, high: float, threshold: float, verdict: str) -> dict:
    return {"retention": (low + high) / 2, "low": low, "high": high, "confidence": 0.95,
            "threshold": threshold, "verdict": verdict, "n": 48}


def _with_gates() -> list:
    results = make_results(0)
    for r in results:
        if r.info["model"] == "HuggingFaceM4/tiny-llava" and r.info["variant"] == "nf4":
            r.gates = {"cider": _gate(0.95, 1.01, 0.9, "pass"),
                       "bleu4": _gate(0.85, 0.99, 0.9, "inconclusive")}
            r.info["timing"] = {"latency_ratio": {"value": 1.9, "low": 1.7, "high": 2.1}}
    return results


def test_worst_verdict_orders_fail_before_inconclusive_before_pass() -> None:
    assert worst(["pass", "inconclusive", "fail"]) == "fail"
    assert worst(["pass", "inconclusive"]) == "inconclusive"
    assert worst([]) is None


def test_view_orders_baseline_first_then_config_order() -> None:
    view = RunView.of(make_results(0), {"variants": ["nf4", "int8", "bf16", "fp32"]})
    assert view.order == ["fp32", "nf4", "int8", "bf16"]
    assert [w.variant for w in view.for_task("classify")] == view.order


def test_matrix_cell_is_worst_verdict_with_weakest_metric_interval() -> None:
    matrix = decision_matrix(RunView.of(_with_gates(), {}))
    row = next(r for r in matrix.rows if r.model == "HuggingFaceM4/tiny-llava"
               and r.variant == "nf4")
    cell = row.cells["caption"]
    assert cell.verdict == "inconclusive" and cell.metric == "bleu4"
    assert (cell.retention.low, cell.retention.high, cell.threshold) == (0.85, 0.99, 0.9)
    assert row.latency_ratio.value == 1.9 and row.latency_ratio.low == 1.7
    assert row.verdict == "inconclusive"
    # footprint (model_size_mb here) and energy against the model's own baseline
    assert abs(row.footprint_ratio - 0.2) < 1e-9
    assert 0.5 < row.energy_ratio < 5
    base = next(r for r in matrix.rows if r.baseline and r.model == row.model)
    assert base.cells["caption"].verdict == "baseline"


def test_matrix_groups_rows_by_model_without_empty_task_columns() -> None:
    matrix = decision_matrix(RunView.of(make_results(0), {}))
    groups = {model: tasks for model, tasks, _ in matrix.by_model()}
    assert groups == {"HuggingFaceM4/tiny-llava": ["caption"], "vit-tiny": ["classify"]}
    text = matrix_text(matrix)
    assert text.splitlines()[0].startswith("vlmq decision")
    assert any(line.split() == ["vit-tiny", "classify", "footprint", "latency×", "energy×"]
               for line in text.splitlines())
    vit = text.split("vit-tiny")[1]
    assert next(x for x in vit.splitlines() if x.startswith("nf4")).split()[1] == "pass"
    degraded = matrix_text(decision_matrix(RunView.of(make_results(0, degrade=(
        "vit-tiny", "nf4", "top1", 0.0)), {}))).split("vit-tiny")[1]
    assert next(x for x in degraded.splitlines() if x.startswith("nf4")).split()[1] == "FAIL"


def test_reports_open_with_the_matrix_and_the_fronts(tmp_path) -> None:
    store = write_run(tmp_path, 0, "r")
    md = build_report(store.root).read_text()
    assert md.index("## Decision") < md.index("## Settings")
    assert md.index("## Decision") < md.index("## Task")
    assert "plots/pareto_memory_caption.png" in md.split("## Settings")[0]
    html = (store.root / "report.html").read_text()
    assert html.index("<h2>Decision</h2>") < html.index("<h2>Verdicts</h2>")
    assert html.index("pareto-memory-0") < html.index("<h2>Verdicts</h2>")


def test_terminal_lines_add_the_recommendation_with_a_budget() -> None:
    results = make_results(0)
    plain = decision_lines(results, {})
    assert plain[0].startswith("vlmq decision") and not any("RECOMMENDED" in x for x in plain)
    budgeted = decision_lines(results, {"budget": {"max_memory_mib": "1000",
                                                   "models": "vit-tiny"}})
    assert any(x.startswith("RECOMMENDED: vit-tiny / ") for x in budgeted)
    assert decision_lines([], {}) == []
