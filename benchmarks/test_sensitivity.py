"""Layer-wise sensitivity (seed 003): for each benchmarked model, sweep the layers of one part
kept in full precision under 4-bit NF4 and report the quality each choice recovers (on the
embedded defaults: vit-tiny in the default run, llava-tiny with -m slow).

The part is the vision tower of a classifier and the language model of a generative model;
the task is the model's first task and the metric that task's headline (first) metric. Every
evaluated variant is stored in its own run folder, <run>/sensitivity/<model>/, apart from the
benchmark results; the sweep's JSON and plot go to <run>/sensitivity/.
"""

from __future__ import annotations

from typing import Any

import pytest

from vlmq.errors import UnavailableError
from vlmq.session import Case

BASE_VARIANT = "nf4"
PART_BY_KIND = {"classify": "vision", "generate": "text"}


def test_layer_sensitivity(benchmark: Any, vlmq_run: Any, vlmq_sweep_model: str) -> None:
    from vlmq.report.sensitivity import write_sweep
    from vlmq.sensitivity import run_sweep, session_scorer, sweep_session

    main = vlmq_run
    sweep_model = vlmq_sweep_model
    if main.plan.is_synthetic(sweep_model):
        # before any load: a real-size synthetic folder would be loaded once per layer for nothing
        pytest.skip(f"{sweep_model} has synthetic (random) weights: quality is not measured, so "
                    f"there is no quality for a sensitivity sweep to recover")
    session = sweep_session(main, sweep_model)
    part = PART_BY_KIND[session.model_kind(sweep_model)]
    task_name = session.tasks_for(sweep_model)[0]
    headline = session.task(task_name).metrics[0]
    attn = session.config.attn_implementation[0]
    score = session_scorer(session, sweep_model, task_name, headline.name, attn)

    def sweep() -> Any:
        return run_sweep(sweep_model, BASE_VARIANT, part, score,
                         baseline_variant=session.baseline, task=task_name,
                         metric=headline.name, higher_is_better=headline.higher_is_better)

    try:
        result = benchmark.pedantic(sweep, rounds=1, iterations=1)
    except UnavailableError as exc:
        pytest.skip(str(exc))
    data_path, plot_path = write_sweep(result, main.store.root)
    benchmark.extra_info.update({"sensitivity": result.to_dict(), "plot": str(plot_path),
                                 "data": str(data_path)})

    assert plot_path.stat().st_size > 0
    assert [p.layer for p in result.layers] == list(range(len(result.layers)))
    # Each kept layer really stayed in full precision, and only it: the part's quantized
    # Linear count drops by one layer's worth, the same for every (identical) layer.
    counts = [_quantized(session, Case(sweep_model, p.variant, attn), task_name, part)
              for p in result.points]
    per_layer = {counts[0] - c for c in counts[1:]}
    assert len(per_layer) == 1 and per_layer.pop() > 0, counts


def _quantized(session: Any, case: Case, task: str, part: str) -> int:
    stored = session.stored_result(case, task)
    return stored.quantized_linears[part]["quantized"]
