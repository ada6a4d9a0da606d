"""The interactive figures of report.html: the Pareto fronts (quality against latency and
against footprint, per task, with intervals) and memory and size per variant.

Intervals: the quality value's retention interval as a vertical bar, the latency's interval
over this run's batches as a horizontal one (see `vlmq.report.plots` for the same in the png).
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vlmq.report.page import esc
from vlmq.report.pick import label, primary, value
from vlmq.report.plots import front_x, latency_band, pareto_front, quality_band
from vlmq.report.view import gates_of, variant_order
from vlmq.results.schema import TaskResult
from vlmq.results.summary import is_baseline

SHAPES = ("circle", "diamond", "square", "triangle-up", "x")  # one per model


def confidence_tag(level: Any) -> str:
    return f" <span class='muted'>{float(level):.0%}</span>" if level is not None else ""


def _interval_text(r: TaskResult, metric: str) -> str:
    g = gates_of(r).get(metric)
    if g is None:
        return "baseline" if is_baseline(r) else "not gated"
    text = f"retention {g['retention']:.3f}" if g.get("retention") is not None else "retention n/a"
    if g.get("low") is not None and g.get("high") is not None:
        text += f" [{g['low']:.3f}, {g['high']:.3f}]{confidence_tag(g.get('confidence'))}"
    return f"{text}, threshold {g['threshold']:.2f}: {g['verdict']}"


def _error(band: tuple[float, float] | None, at: float) -> dict[str, Any] | None:
    if band is None:
        return None
    return {"type": "data", "symmetric": False, "array": [band[1] - at],
            "arrayminus": [at - band[0]], "thickness": 1, "width": 3}


def pareto_figure(results: list[TaskResult], task: str, axis: str = "latency"
                  ) -> go.Figure | None:
    """Quality vs latency (or footprint) on one task: a trace per model x variant (the legend
    names them and toggles them), one marker shape per model, the baseline starred, the front
    dashed, intervals as error bars."""
    rs = [r for r in results if r.info.get("task") == task
          and r.info.get("variant") is not None]
    q, lat = primary(rs, "quality"), front_x(rs, axis)
    if q is None or lat is None:
        return None
    rank = {v: i for i, v in enumerate(variant_order(rs))}
    rs = sorted((r for r in rs if value(r, lat.name) is not None
                 and value(r, q.name) is not None), key=lambda r: rank[r.info.get("variant")])
    if not rs:
        return None
    models = list(dict.fromkeys(str(r.info.get("model")) for r in rs))
    fig = go.Figure()
    for r in rs:
        model, variant = str(r.info.get("model")), str(r.info.get("variant"))
        shape = "star" if is_baseline(r) else SHAPES[models.index(model) % len(SHAPES)]
        x, y = value(r, lat.name), value(r, q.name)
        fig.add_trace(go.Scatter(
            x=[x], y=[y], mode="markers",
            error_y=_error(quality_band(r, q.name, q.higher_is_better, y), y),
            error_x=_error(latency_band(r, x) if axis == "latency" else None, x),
            name=variant if len(models) == 1 else f"{variant} ({model})",
            marker={"size": 18 if is_baseline(r) else 12, "symbol": shape,
                    "line": {"width": 1, "color": "black"}},
            customdata=[[variant, task, _interval_text(r, q.name), model]],
            hovertemplate=(f"<b>%{{customdata[0]}}</b> on %{{customdata[1]}} "
                           f"(%{{customdata[3]}})<br>{esc(q.name)} %{{y:.4g}}<br>"
                           f"{esc(label(lat))} %{{x:.4g}}<br>%{{customdata[2]}}<extra></extra>")))
    points = [(value(r, lat.name), value(r, q.name)) for r in rs]
    front = [points[i] for i in pareto_front(points, q.higher_is_better)]
    fig.add_trace(go.Scatter(x=[p[0] for p in front], y=[p[1] for p in front], mode="lines",
                             name="Pareto front", hoverinfo="skip",
                             line={"dash": "dash", "color": "gray"}))
    better = "higher" if q.higher_is_better else "lower"
    fig.update_layout(title=f"{task}: quality vs {axis}", height=430,
                      xaxis_title=f"{label(lat)}, lower is better",
                      yaxis_title=f"{label(q)}, {better} is better", margin={"t": 50, "r": 20})
    return fig


def memory_figure(results: list[TaskResult], order: list[str]) -> go.Figure | None:
    """Peak memory per variant (one bar series per model x task) and size (one per model)."""
    panels = [(k, m) for k in ("memory", "size") if (m := primary(results, k)) is not None]
    if not panels:
        return None
    fig = make_subplots(1, len(panels), subplot_titles=[label(m) for _, m in panels])
    for col, (kind, m) in enumerate(panels, 1):
        series: dict[str, dict[str, tuple[float, str]]] = {}
        for r in results:
            v = value(r, m.name)
            if v is None:
                continue
            name = str(r.info.get("model"))
            name += "" if kind == "size" else f" · {r.info.get('task')}"
            series.setdefault(name, {}).setdefault(str(r.info.get("variant")),
                                                   (v, str(r.info.get("task"))))
        for name, vals in series.items():
            vs = [v for v in order if v in vals]
            fig.add_trace(go.Bar(
                x=vs, y=[vals[v][0] for v in vs], name=name, legendgroup=name,
                showlegend=kind == "memory" or len(panels) == 1,
                customdata=[[v, vals[v][1] if kind != "size" else "all tasks"] for v in vs],
                hovertemplate=(f"<b>%{{customdata[0]}}</b> on %{{customdata[1]}}<br>"
                               f"{esc(m.name)} %{{y:.4g}} {esc(m.unit)}"
                               "<extra>%{fullData.name}</extra>")), 1, col)
        fig.update_yaxes(title_text=f"{label(m)}, lower is better", row=1, col=col)
    fig.update_layout(barmode="group", height=420, margin={"t": 50, "r": 20},
                      legend={"orientation": "h", "y": -0.25})
    return fig


