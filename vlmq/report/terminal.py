"""What the terminal shows when a run ends: the decision matrix, then, with a budget, the
variant to ship (as `vlmq recommend` names it). Free of plotting libraries."""

from __future__ import annotations

from typing import Any

from vlmq.budget import Budget
from vlmq.report.decision import decision_matrix
from vlmq.report.matrix_render import matrix_text
from vlmq.report.recommend import recommend, recommendation_text
from vlmq.report.view import RunView
from vlmq.results.schema import TaskResult


def decision_lines(results: list[TaskResult], config: dict[str, Any]) -> list[str]:
    """The terminal summary's lines for a run's results and its config (as a dict)."""
    matrix = decision_matrix(RunView.of(results, config))
    if not matrix.rows:
        return []
    lines = matrix_text(matrix).splitlines()
    if config.get("budget"):
        budget = Budget.from_mapping(config["budget"])
        lines += ["", *recommendation_text(recommend(matrix, budget)).splitlines()]
    return lines
