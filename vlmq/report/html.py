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

from vlmq.report.decision import decision_matrix
from vlmq.report.html_figures import confidence_tag, memory_figure, pareto_figure
from vlmq.report.markdown import SETTINGS
from vlmq.report.matrix_render import matrix_html
from vlmq.report.page import esc, figure_div, num, page, sortable_table
from vlmq.report.pick import label, primary
from vlmq.report.plots import FRONT_AXES
from vlmq.report.spotcheck import ImageLookup, collect, image_tag, output_rows, thumbnail
from vlmq.report.view import Row, RunView
from vlmq.results.atomic import write_atomic
from vlmq.results.store import RunStore

TABLE_KINDS = ("latency", "throughput", "memory", "size", "energy")
SPOT_EVEN, SPOT_DISAGREEING = 4, 8  # samples per (model, task): spread out, then disagreeing

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


def write_html_report(store: RunStore, image_lookup: ImageLookup | None = None,
                      view: RunView | None = None) -> Path:
    path = store.root / "report.html"
    write_atomic(path, render(store, image_lookup, view), "the HTML report")
    return path


def render(store: RunStore, image_lookup: ImageLookup | None = None,
           view: RunView | None = None) -> str:
    view = view or RunView.of(store.results(), store.read_config())
    parts = [f"<h1>vlmq run <code>{esc(store.run_id)}</code></h1>"]
    parts += [matrix_html(decision_matrix(view))]
    plots = [figure_div(fig, f"pareto-{axis}-{i}") for i, t in enumerate(view.tasks)
             for axis in FRONT_AXES if (fig := pareto_figure(view.results, t, axis)) is not None]
    if plots:
        parts += ["<h2>Pareto fronts: quality vs latency and vs footprint</h2>",
                  "<p class='muted'>Star: the baseline. Dashed: the Pareto front (no other "
                  "variant is both cheaper and better). Bars: the retention interval (vertical) "
                  "and the latency interval over this run's batches (horizontal). Hover a "
                  "point for its numbers; click a legend entry to hide or show it.</p>",
                  "<div class='fronts'>", *plots, "</div>"]
    parts += verdict_section(view)
    memory = memory_figure(view.results, view.order)
    if memory is not None:
        parts += ["<h2>Memory and size</h2>", figure_div(memory, "memory")]
    for i, task in enumerate(view.tasks):
        parts += [f"<h2>Task <code>{esc(task)}</code></h2>",
                  _task_table(view.for_task(task), i)]
    parts += _spotcheck(store, image_lookup)
    parts += _context(store)
    return page(f"vlmq run {store.run_id}", "\n".join(parts), FILTER_JS)


def verdict_section(view: RunView) -> list[str]:
    """The verdict heading, its counts and the sortable table of every gate."""
    rows = view.verdict_rows()
    if not view.results:
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
                    f"{confidence_tag(r.get('confidence'))}</td>")
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


def _task_table(rows: list[Row], index: int) -> str:
    rs = [w.result for w in rows]
    quality = list(dict.fromkeys(n for r in rs for n, m in r.metrics.items()
                                 if m.kind == "quality"))
    gated = list(dict.fromkeys(n for w in rows for n in w.gates))
    cols = [m for k in TABLE_KINDS if (m := primary(rs, k)) is not None]
    head = ["model", "variant", *quality, *[f"{g} retention" for g in gated],
            *[label(m) for m in cols], "result"]
    body = []
    for w in rows:
        result = "-" if w.verdict == "-" else w.verdict
        if w.superseded:
            result = f"inconclusive, see {w.result.info['next_look']}"
        body.append([f"<td>{esc(w.model)}</td>", f"<td>{esc(w.variant)}</td>",
                     *[num(w.value(q)) for q in quality],
                     *[num(w.gates[g].get("retention") if g in w.gates else None, 3)
                       for g in gated],
                     *[num(w.value(m.name)) for m in cols],
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
