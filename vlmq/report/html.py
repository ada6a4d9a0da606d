"""report.html: one self-contained page per run, for deciding "ship it or not" by looking.

Sections: the verdict per gate (retention, interval, verdict), quality vs latency per task and
memory/size per variant as interactive plotly figures (hover: variant, task, value, interval),
per-task tables that sort, the spot-check samples with a filter for the ones where a variant
disagrees with the baseline, then settings, machine and skips. Everything is inlined (see
page.py), so the file opens offline and makes no network request.

Gates: a result's `gates` (per gated metric: retention, low, high, confidence, threshold,
verdict ...) when the run wrote them; older runs have only point retention and thresholds, and
get a pass/fail from those with no interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vlmq.report.markdown import SETTINGS
from vlmq.report.page import esc, figure_div, num, page, sortable_table
from vlmq.report.pick import label, primary, value
from vlmq.report.plots import pareto_front, variant_order
from vlmq.report.spotcheck import ImageLookup, collect, image_tag, output_rows, thumbnail
from vlmq.results.schema import TaskResult
from vlmq.results.store import RunStore
from vlmq.results.summary import gate_checks, is_baseline, superseded

TABLE_KINDS = ("latency", "throughput", "memory", "size", "energy")
SPOT_EVEN, SPOT_DISAGREEING = 4, 8  # samples per (model, task): spread out, then disagreeing
SHAPES = ("circle", "diamond", "square", "triangle-up", "x")  # one per model

# Shows or hides the spot-check samples whose variants all agree with the baseline.
FILTER_JS = """
(function () {
  var box = document.getElementById("only-disagree");
  if (!box) return;
  var update = function () {
    var shown = 0, all = document.querySelectorAll(".sample");
    all.forEach(function (s) {
      var show = !box.checked || s.dataset.disagree === "1";
      s.style.display = show ? "" : "none";
      if (show) shown += 1;
    });
    document.getElementById("spot-count").textContent = shown + " of " + all.length;
  };
  box.addEventListener("change", update);
  update();
})();
"""


def gates_of(result: TaskResult) -> dict[str, dict[str, Any]]:
    """The result's interval gates; for runs without them, point retention vs threshold."""
    gates = getattr(result, "gates", None)
    if gates:
        return dict(gates)
    return {name: {"retention": ret, "threshold": thr, "verdict": "pass" if ok else "fail",
                   "low": None, "high": None, "method": "point retention"}
            for name, (ret, thr, ok) in gate_checks(result).items()}


def verdict_rows(results: list[TaskResult]) -> list[dict[str, Any]]:
    """One row per (model, variant, task, gated metric) of every non-baseline result."""
    rows = []
    for r in results:
        if is_baseline(r):
            continue
        for metric, g in gates_of(r).items():
            rows.append({"model": r.info.get("model"), "variant": r.info.get("variant"),
                         "task": r.info.get("task"), "metric": metric,
                         "value": value(r, metric), **g})
    return rows


def write_html_report(store: RunStore, image_lookup: ImageLookup | None = None) -> Path:
    path = store.root / "report.html"
    path.write_text(render(store, image_lookup), encoding="utf-8")
    return path


def render(store: RunStore, image_lookup: ImageLookup | None = None) -> str:
    results = store.results()
    order = variant_order(results, list(store.read_config().get("variants") or []))
    parts = [f"<h1>vlmq run <code>{esc(store.run_id)}</code></h1>"]
    parts += verdict_section(results)
    tasks = list(dict.fromkeys(str(r.info.get("task")) for r in results))
    plots = [figure_div(fig, f"pareto-{i}") for i, t in enumerate(tasks)
             if (fig := pareto_figure(results, t)) is not None]
    if plots:
        parts += ["<h2>Quality vs latency</h2>",
                  "<p class='muted'>Star: the baseline. Dashed: the Pareto front (no other "
                  "variant is both faster and better). Hover a point for its numbers; click a "
                  "legend entry to hide or show it.</p>",
                  *plots]
    memory = memory_figure(results, order)
    if memory is not None:
        parts += ["<h2>Memory and size</h2>", figure_div(memory, "memory")]
    for i, task in enumerate(tasks):
        rs = [r for r in results if r.info.get("task") == task]
        parts += [f"<h2>Task <code>{esc(task)}</code></h2>", _task_table(rs, order, i)]
    parts += _spotcheck(store, image_lookup)
    parts += _context(store)
    return page(f"vlmq run {store.run_id}", "\n".join(parts), FILTER_JS)


def verdict_section(results: list[TaskResult]) -> list[str]:
    """The verdict heading, its counts and the sortable table of every gate."""
    rows = verdict_rows(results)
    if not results:
        return ["<p><b>No task results were stored in this run.</b></p>"]
    if not rows:
        return ["<p>No gated results (only the baseline ran).</p>"]
    counts = pd.Series([r["verdict"] for r in rows]).value_counts()
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    body = []
    for r in rows:
        low, high = r.get("low"), r.get("high")
        interval = ("<td class='muted'>none (point)</td>" if low is None or high is None else
                    f"<td class='num' data-v='{low!r}'>[{low:.3f}, {high:.3f}]"
                    f"{_confidence(r.get('confidence'))}</td>")
        body.append([f"<td>{esc(r[k])}</td>" for k in ("model", "variant", "task", "metric")]
                    + [num(r["value"]), num(r.get("retention")), interval,
                       num(r.get("threshold"), 3),
                       f"<td class='{esc(r['verdict'])}'>{esc(r['verdict'])}</td>",
                       f"<td class='muted'>{esc(_method_text(r))}</td>"])
    head = ["model", "variant", "task", "metric", "value", "retention", "interval",
            "threshold", "verdict", "method"]
    return [f"<h2>Verdicts</h2><p><b>{len(rows)} gates: {esc(summary)}.</b> Retention = variant "
            "/ baseline; a gate passes when retention (its interval, where the run has one) "
            "clears the threshold.</p>", sortable_table(head, body, "verdicts")]


def _method_text(gate: dict[str, Any]) -> str:
    text = str(gate.get("method") or "")
    if gate.get("n"):
        text += f", {gate['n']} samples"
    if gate.get("verdict") == "inconclusive" and gate.get("samples_needed"):
        text += f"; about {gate['samples_needed']} would decide it"
    return text


def _confidence(level: Any) -> str:
    return f" <span class='muted'>{float(level):.0%}</span>" if level is not None else ""


def _interval_text(r: TaskResult, metric: str) -> str:
    g = gates_of(r).get(metric)
    if g is None:
        return "baseline" if is_baseline(r) else "not gated"
    text = f"retention {g['retention']:.3f}" if g.get("retention") is not None else "retention n/a"
    if g.get("low") is not None and g.get("high") is not None:
        text += f" [{g['low']:.3f}, {g['high']:.3f}]{_confidence(g.get('confidence'))}"
    return f"{text}, threshold {g['threshold']:.2f}: {g['verdict']}"


def pareto_figure(results: list[TaskResult], task: str) -> go.Figure | None:
    """Quality vs latency on one task: a trace per model x variant (the legend names them and
    toggles them), one marker shape per model, the baseline starred, the front dashed."""
    rs = [r for r in results if r.info.get("task") == task
          and r.info.get("variant") is not None]
    q, lat = primary(rs, "quality"), primary(rs, "latency")
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
        fig.add_trace(go.Scatter(
            x=[value(r, lat.name)], y=[value(r, q.name)], mode="markers",
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
    fig.update_layout(title=f"{task}: quality vs latency", height=430,
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


def _task_table(rs: list[TaskResult], order: list[str], index: int) -> str:
    quality = list(dict.fromkeys(n for r in rs for n, m in r.metrics.items()
                                 if m.kind == "quality"))
    gated = list(dict.fromkeys(n for r in rs for n in gates_of(r)))
    cols = [m for k in TABLE_KINDS if (m := primary(rs, k)) is not None]
    head = ["model", "variant", *quality, *[f"{g} retention" for g in gated],
            *[label(m) for m in cols], "result"]
    rank = {v: i for i, v in enumerate(order)}
    body = []
    for r in sorted(rs, key=lambda r: (str(r.info.get("model")),
                                       rank.get(r.info.get("variant"), len(rank)))):
        gates = gates_of(r)
        verdicts = [g["verdict"] for g in gates.values()]
        result = ("baseline" if is_baseline(r) else "-" if not verdicts else
                  "fail" if "fail" in verdicts else
                  "inconclusive" if "inconclusive" in verdicts else "pass")
        if superseded(r):
            result = f"inconclusive, see {r.info['next_look']}"
        body.append([f"<td>{esc(r.info.get('model'))}</td>",
                     f"<td>{esc(r.info.get('variant'))}</td>",
                     *[num(value(r, q)) for q in quality],
                     *[num(gates[g].get("retention") if g in gates else None, 3) for g in gated],
                     *[num(value(r, m.name)) for m in cols],
                     f"<td class='{result.split(',')[0]}'>{esc(result)}</td>"])
    first = rs[0].info
    return (sortable_table(head, body, f"task-{index}") +
            f"<p class='muted'>Dataset {esc(first.get('dataset'))}, {esc(first.get('samples'))} "
            "samples. Click a column header to sort.</p>")


def _spotcheck(store: RunStore, image_lookup: ImageLookup | None) -> list[str]:
    groups = collect(store, SPOT_EVEN, SPOT_DISAGREEING)
    if not groups:
        return []
    out = ["<h2>Spot check</h2>",
           "<p><label><input type='checkbox' id='only-disagree'> only samples where a variant "
           "disagrees with the baseline</label> (showing <span id='spot-count'></span>). "
           "Highlighted: outputs that differ from the baseline's.</p>"]
    for g in groups:
        out.append(f"<h3>{esc(g['model'])} / {esc(g['task'])}</h3>")
        for s in g["samples"]:
            rec = s["record"]
            img = thumbnail(image_lookup, rec.sample_id)
            pic = image_tag(img, rec.sample_id, "<i class='muted'>image unavailable</i>")
            rows = output_rows(s["outputs"], g["baseline"])
            prompt = f"<b>prompt:</b> {esc(rec.prompt)}<br>" if rec.prompt else ""
            out.append(
                f"<div class='sample' data-disagree='{int(s['disagree'])}'>{pic}<div>"
                f"<b>sample {esc(rec.sample_id)}</b><br>{prompt}<b>reference:</b> "
                f"{esc(rec.references)}<table><tr><th>variant</th><th>output</th><th>score</th>"
                f"</tr>{rows}</table></div></div>")
    return out


def _context(store: RunStore) -> list[str]:
    out = []
    config = store.read_config()
    shown = {k: config[k] for k in SETTINGS if k in config}
    if shown:
        out += ["<h2>Settings</h2><table>"] + [
            f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in shown.items()] + [
            "</table>"]
    machine = store.read_machine()
    if machine:
        flat = pd.json_normalize(machine, sep=".").iloc[0].to_dict()
        out += ["<h2>Machine</h2><table>"] + [
            f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in flat.items()] + [
            "</table>"]
    skips = store.skips()
    if skips:
        out += ["<h2>Skipped</h2><table><tr><th>model</th><th>variant</th><th>task</th>"
                "<th>reason</th></tr>"] + [
            f"<tr><td>{esc(s['model'])}</td><td>{esc(s['variant'])}</td>"
            f"<td>{esc(s['task'] or 'all')}</td><td>{esc(s['reason'])}</td></tr>"
            for s in skips] + ["</table>"]
    return out
