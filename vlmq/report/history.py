"""history.html: how every metric of every model x variant x task moved over saved runs.

Inputs are what `vlmq compare` reads (pytest-benchmark JSON files, `--benchmark-autosave` saves
under `.benchmarks/`, run folders), or folders holding them, searched recursively (a run folder
is one run; a JSON file that is not pytest-benchmark's is passed over). Runs are ordered by the
time they were made: pytest-benchmark's `datetime`, else the timestamp in a vlmq run id, else
the run folder's first finished task.

Each run is judged against the run before it by `vlmq compare`'s own `compare()` (threshold
AND significance, Holm-corrected per pair), so a point flagged here is exactly what
`vlmq compare PREVIOUS THIS` reports as a regression. Each series over all the runs is also
searched for change points (`vlmq.report.drift`): a drift too slow for any one step is marked
at the run where the level moved, with how much. One line per model x variant x task x metric;
the page opens on what changed (the entries with a regression or a change point on the metric
shown, and the baselines), every other line one click away; a selector for the metric and the
variant, commit and machine on hover, and a table of the flagged points. Never imports torch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from vlmq.errors import VlmqError
from vlmq.report.compare import BETTER, REGRESSION, Run, Threshold, compare, load_run
from vlmq.report.drift import TIME_METRIC, drifts, run_value
from vlmq.report.page import esc, figure_div, num, page, sortable_table
from vlmq.results.atomic import write_atomic
from vlmq.results.schema import KINDS
from vlmq.results.store import RunStore
from vlmq.stats.changepoint import METHOD

CHANGE = "CHANGE POINT"
RUN_ID_TIME = re.compile(r"(\d{8}-\d{6})")
SAVE_NAME = re.compile(r"(\d{4})_[0-9a-f]{7,40}_\d{8}_\d{6}$")

# Shows the traces of the chosen metric and variant (only what changed, and the baselines,
# until "every entry" is ticked), and names the metric on the y axis.
SELECT_JS = """
(function () {
  var gd = document.getElementById("history"), m = document.getElementById("metric"),
      v = document.getElementById("variant"), all = document.getElementById("all");
  var update = function () {
    var vis = gd.data.map(function (t) {
      return t.meta.metric === m.value && (v.value === "" || t.meta.variant === v.value)
        && (all.checked || t.meta.focus.indexOf(m.value) >= 0);
    });
    Plotly.restyle(gd, {visible: vis});
    Plotly.relayout(gd, {"yaxis.title.text": m.options[m.selectedIndex].dataset.title});
  };
  m.addEventListener("change", update);
  v.addEventListener("change", update);
  all.addEventListener("change", update);
})();
"""


@dataclass
class SavedRun:
    """One run of the history with what the page says about it."""

    run: Run
    when: datetime
    commit: str
    machine: str
    source: str
    run_id: str | None  # the vlmq run folder it belongs to, when known


@dataclass
class Flag:
    """A point `compare()` judged a regression (or better) against the run before it, or the
    first run of a new level (CHANGE: before and after are the levels, not the two values)."""

    run: int  # index into the history
    key: tuple[str, ...]
    metric: str
    verdict: str
    test: str
    before: float | None
    after: float | None


def find_sources(inputs: list[str]) -> list[Path]:
    """Files and run folders: inputs as given, folders searched for runs and benchmark JSON."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise VlmqError(f"history input {item!r} does not exist; give run folders, "
                            "pytest-benchmark JSON files or folders holding them")
        out += [p] if p.is_file() or _is_run_dir(p) else _search(p)
    return list(dict.fromkeys(out))


def _is_run_dir(p: Path) -> bool:
    return (p / "results").is_dir() or (p / "config.yaml").is_file()


def _search(folder: Path) -> list[Path]:
    out: list[Path] = []
    for child in sorted(folder.iterdir()):
        if child.is_dir():
            out += [child] if _is_run_dir(child) else _search(child)
        elif child.suffix == ".json" and _is_benchmark_json(child):
            out.append(child)
    return out


def _is_benchmark_json(path: Path) -> bool:
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list)


def load_history(inputs: list[str], storage: str | Path = ".benchmarks") -> list[SavedRun]:
    """Every run found, oldest first; a run folder also given as its JSON is taken once."""
    runs = [_saved(p, storage) for p in find_sources(inputs)]
    if not runs:
        raise VlmqError(f"no saved runs found in {', '.join(inputs)}")
    from_json = {r.run_id for r in runs if Path(r.source).is_file()}
    runs = [r for r in runs if Path(r.source).is_file() or r.run_id not in from_json]
    return sorted(runs, key=lambda r: r.when)


def _saved(path: Path, storage: str | Path) -> SavedRun:
    run = load_run(str(path), storage)
    if path.is_dir():
        store = RunStore.open(path)
        run.label = store.run_id
        info = store.read_machine()
        return SavedRun(run, _run_dir_time(store), "not recorded", _machine_text(info),
                        str(path), store.run_id)
    doc = json.loads(path.read_text())
    # a --benchmark-autosave name (0003_<commit>_<date>) goes by its number, as in compare
    run.label = m[1] if (m := SAVE_NAME.match(path.stem)) else path.stem
    commit = doc.get("commit_info") or {}
    machine = doc.get("machine_info") or {}
    when = _parse_time(doc.get("datetime")) or _mtime(path)
    commit_text = (f"{str(commit.get('id') or '?')[:10]} on {commit.get('branch') or '?'}"
                   f"{' (dirty)' if commit.get('dirty') else ''}" if commit else "not recorded")
    host = {"node": machine.get("node"), "cpu_model": (machine.get("cpu") or {}).get("brand_raw"),
            **(machine.get("vlmq") or {})}
    return SavedRun(run, when, commit_text, _machine_text(host), str(path),
                    (doc.get("vlmq") or {}).get("run_id"))


def _machine_text(info: dict[str, Any]) -> str:
    parts = [info.get("node"), info.get("cpu_model"), info.get("gpu_name"),
             f"torch {info['torch_version']}" if info.get("torch_version") else None]
    return ", ".join(str(p) for p in parts if p) or "not recorded"


def _run_dir_time(store: RunStore) -> datetime:
    m = RUN_ID_TIME.match(store.run_id)
    if m:
        return datetime.strptime(m[1], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
    marks = [_parse_time(p.read_text().strip())
             for p in (store.root / "results").glob("*/*/*.finished")]
    marks = [t for t in marks if t is not None]
    return min(marks) if marks else _mtime(store.config_path if store.config_path.is_file()
                                             else store.root)


def _parse_time(text: Any) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def judge_steps(history: list[SavedRun], overrides: dict[str, Threshold] | None = None,
                alpha: float = 0.01, seed: int = 0) -> list[Flag]:
    """compare() of each run against the one before; the regressions and improvements."""
    flags = []
    for i in range(1, len(history)):
        before, after = history[i - 1].run, history[i].run
        keys = {e.label: k for k, e in before.entries.items()}
        for row in compare([before, after], overrides=overrides, alpha=alpha, seed=seed):
            j = row.judgements[0]
            if j.verdict in (REGRESSION, BETTER):
                flags.append(Flag(i, keys[row.entry], row.metric, j.verdict, j.test,
                                  row.values[0], row.values[1]))
    return flags


def change_flags(history: list[SavedRun]) -> list[Flag]:
    """A CHANGE flag at the first run of every new level of every entry x metric series."""
    return [Flag(d.point.index, d.key, d.metric, CHANGE, METHOD, d.point.before, d.point.after)
            for d in drifts([s.run for s in history])]


def metrics_of(history: list[SavedRun]) -> dict[str, dict[str, Any]]:
    """Every judged metric seen: {name: {unit, higher_is_better, kind}}, quality first."""
    seen: dict[str, dict[str, Any]] = {}
    for saved in history:
        for e in saved.run.entries.values():
            if e.stats and "median" in e.stats:
                seen.setdefault(TIME_METRIC, {"unit": "s", "higher_is_better": False,
                                              "kind": "latency"})
            for name, m in (e.result.metrics.items() if e.result else ()):
                seen.setdefault(name, {"unit": m.unit, "higher_is_better": m.higher_is_better,
                                       "kind": m.kind})
    rank = {k: i for i, k in enumerate(KINDS)}
    return dict(sorted(seen.items(), key=lambda kv: rank.get(kv[1]["kind"], len(KINDS))))


def _name(key: tuple[str, ...]) -> str:
    return " / ".join(key)


def _variant(key: tuple[str, ...]) -> str:
    return key[1] if len(key) > 1 else key[0]


def first_metric(metrics: dict[str, dict[str, Any]], flags: list[Flag]) -> str:
    """The metric shown first: the newest regression's, else the newest change point's, else
    the first (a quality metric)."""
    for verdict in (REGRESSION, CHANGE):
        hits = [f for f in flags if f.verdict == verdict and f.metric in metrics]
        if hits:
            return max(hits, key=lambda f: f.run).metric
    return next(iter(metrics))


def focus(history: list[SavedRun], flags: list[Flag]) -> dict[tuple[str, ...], list[str]]:
    """Per entry: the metrics it is shown on when the page opens. A baseline entry is shown on
    every metric; another on the metrics where it regressed or its level moved."""
    out: dict[tuple[str, ...], list[str]] = {}
    for s in history:
        for key, e in s.run.entries.items():
            info = e.result.info if e.result else {}
            if info.get("variant") is not None and info.get("variant") == info.get("baseline"):
                out[key] = ["*"]
    for f in flags:
        if f.verdict in (REGRESSION, CHANGE) and out.get(f.key) != ["*"]:
            out.setdefault(f.key, []).append(f.metric)
    return out


def history_figure(history: list[SavedRun], flags: list[Flag],
                   metrics: dict[str, dict[str, Any]], first: str) -> go.Figure:
    """A line per series x metric (only `first` visible), regressions marked."""
    keys = list(dict.fromkeys(k for s in history for k in s.run.entries))
    verdicts = {(f.run, f.key, f.metric): f for f in flags if f.verdict != CHANGE}
    changes = [f for f in flags if f.verdict == CHANGE]
    shown = focus(history, flags)
    x = [s.when.isoformat() for s in history]
    fig = go.Figure()
    for metric, meta in metrics.items():
        for key in keys:
            ys = [run_value(s.run, key, metric) for s in history]
            if all(y is None for y in ys):
                continue
            notes = [_verdict_text(verdicts.get((i, key, metric)), i) for i in range(len(history))]
            custom = [[s.run.label, s.commit, s.machine, n] for s, n in zip(history, notes,
                                                                            strict=True)]
            on = metric in shown.get(key, []) or shown.get(key) == ["*"]
            tag = {"metric": metric, "variant": _variant(key),
                   "focus": [metric] if on else []}
            hover = (f"<b>{esc(_name(key))}</b><br>{esc(metric)} %{{y:.4g}} {esc(meta['unit'])}"
                     "<br>run %{customdata[0]} at %{x}<br>commit %{customdata[1]}"
                     "<br>machine %{customdata[2]}<br>%{customdata[3]}<extra></extra>")
            fig.add_trace(go.Scatter(
                x=x, y=ys, customdata=custom, mode="lines+markers", name=_name(key),
                meta=tag, visible=metric == first and on, hovertemplate=hover,
                connectgaps=False))
            bad = [i for i in range(len(history)) if (i, key, metric) in verdicts
                   and verdicts[(i, key, metric)].verdict == REGRESSION]
            if bad:
                fig.add_trace(go.Scatter(
                    x=[x[i] for i in bad], y=[ys[i] for i in bad],
                    customdata=[custom[i] for i in bad], mode="markers",
                    name=f"REGRESSION {_name(key)}", meta=tag, visible=metric == first and on,
                    marker={"symbol": "x", "size": 16, "color": "#d00000",
                            "line": {"width": 1, "color": "black"}}, hovertemplate=hover))
            moved = [f for f in changes if f.key == key and f.metric == metric]
            if moved:
                fig.add_trace(go.Scatter(
                    x=[x[f.run] for f in moved], y=[ys[f.run] for f in moved],
                    mode="markers+text", text=[f"{f.after / f.before - 1:+.1%}" if f.before
                                               else "moved" for f in moved],
                    textposition="top center", name=f"{CHANGE} {_name(key)}", meta=tag,
                    visible=metric == first and on, hoverinfo="skip",
                    marker={"symbol": "diamond-open", "size": 18, "color": "#7b2cbf",
                            "line": {"width": 2}}))
    fig.update_layout(height=560, margin={"t": 30, "r": 20}, hovermode="closest", showlegend=True,
                      xaxis_title="run time (UTC)", yaxis_title=_axis_title(first, metrics),
                      legend={"orientation": "h", "y": -0.25})
    return fig


def _verdict_text(flag: Flag | None, index: int) -> str:
    if index == 0:
        return "first run"
    if flag is None:
        return "vs previous run: no significant change beyond the threshold"
    return f"vs previous run: {flag.verdict} ({flag.test})"


def _axis_title(metric: str, metrics: dict[str, dict[str, Any]]) -> str:
    meta = metrics[metric]
    better = "higher" if meta["higher_is_better"] else "lower"
    unit = f" ({meta['unit']})" if meta["unit"] else ""
    return f"{metric}{unit}, {better} is better"


def render(history: list[SavedRun], flags: list[Flag]) -> str:
    metrics = metrics_of(history)
    if not metrics:
        raise VlmqError("the saved runs hold no metric to draw")
    variants = sorted({_variant(k) for s in history for k in s.run.entries})
    first = first_metric(metrics, flags)
    options = "".join(f"<option value='{esc(m)}' data-title='{esc(_axis_title(m, metrics))}'"
                      f"{' selected' if m == first else ''}>"
                      f"{esc(m)} ({esc(meta['kind'])})</option>" for m, meta in metrics.items())
    choose = "".join(f"<option value='{esc(v)}'>{esc(v)}</option>" for v in variants)
    regressions = [f for f in flags if f.verdict == REGRESSION]
    moved = [f for f in flags if f.verdict == CHANGE]
    parts = [
        f"<h1>vlmq history: {len(history)} runs</h1>",
        f"<p><b>{len(regressions)} regression(s)</b> flagged, each run judged against the run "
        "before it by the rule of <code>vlmq compare</code> (beyond the metric's threshold and "
        "significant); red crosses mark them. <b>"
        f"{len(moved)} change point(s)</b> over the whole series (where a level moved, even by "
        "steps too small to flag one at a time); purple diamonds mark the first run at the new "
        "level, with how much it moved. Shown: the entries that changed, and the baselines.</p>",
        f"<p><label>metric <select id='metric'>{options}</select></label> "
        f"<label>variant <select id='variant'><option value=''>all variants</option>{choose}"
        "</select></label> <label><input type='checkbox' id='all'> every entry</label></p>",
        figure_div(history_figure(history, flags, metrics, first), "history"),
        "<h2>Flagged changes</h2>", _flag_table(history, flags),
        "<h2>Runs</h2>", _run_table(history)]
    return page(f"vlmq history ({len(history)} runs)", "\n".join(parts), SELECT_JS)


def _flag_table(history: list[SavedRun], flags: list[Flag]) -> str:
    if not flags:
        return "<p>None: no metric changed beyond its threshold with significance, and no " \
            "level moved.</p>"
    css = {REGRESSION: "fail", CHANGE: "inconclusive"}
    rows = [[f"<td>{esc(history[f.run].run.label)}</td>", f"<td>{esc(_name(f.key))}</td>",
             f"<td>{esc(f.metric)}</td>", num(f.before), num(f.after),
             f"<td class='{css.get(f.verdict, 'pass')}'>{esc(f.verdict)}</td>",
             f"<td class='muted'>{esc(f.test)}</td>"] for f in flags]
    return sortable_table(["run", "entry", "metric", "previous (level)", "value (level)",
                           "verdict", "test"], rows, "flags")


def _run_table(history: list[SavedRun]) -> str:
    rows = [[f"<td>{esc(s.run.label)}</td>",
             f"<td data-v='{s.when.timestamp()}'>{esc(s.when.strftime('%Y-%m-%d %H:%M:%S'))}</td>",
             f"<td>{esc(s.commit)}</td>", f"<td>{esc(s.machine)}</td>",
             f"<td class='muted'>{esc(s.source)}</td>"] for s in history]
    return sortable_table(["run", "time (UTC)", "commit", "machine", "source"], rows, "runs")


def write_history(inputs: list[str], out: str | Path, overrides: dict[str, Threshold] | None = None,
                  alpha: float = 0.01, seed: int = 0,
                  storage: str | Path = ".benchmarks") -> tuple[Path, list[SavedRun], list[Flag]]:
    """Read, judge and write history.html; returns the path, the runs and the flags."""
    history = load_history(inputs, storage)
    flags = judge_steps(history, overrides, alpha, seed) + change_flags(history)
    path = Path(out)
    write_atomic(path, render(history, flags), "the history page")
    return path, history, flags
