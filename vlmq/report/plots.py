"""Plots of one run with matplotlib (Agg, no display): Pareto views, bars per variant, combined.

Every axis carries a label with its unit. A plot whose metric was measured nowhere is not
written (the report says which).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
from matplotlib.axes import Axes  # noqa: E402

from vlmq.report.decision import footprint_metric  # noqa: E402
from vlmq.report.pick import label, primary, value  # noqa: E402
from vlmq.report.view import variant_order  # noqa: E402
from vlmq.results.atomic import writing  # noqa: E402
from vlmq.results.schema import Measurement, TaskResult  # noqa: E402
from vlmq.results.summary import is_baseline  # noqa: E402

# Kinds whose value belongs to the loaded variant, not to a task: one bar per model.
PER_MODEL_KINDS = ("size",)
BAR_PANELS = (
    ("memory", "Peak memory"),
    ("size", "Model size"),
    ("throughput", "Throughput"),
    ("energy", "Energy per sample"),
)


def pareto_front(points: list[tuple[float, float]], y_higher_is_better: bool) -> list[int]:
    """Indices of points no other point beats on both axes (x lower is better), by x."""
    sign = 1 if y_higher_is_better else -1
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (x2 <= x and sign * y2 >= sign * y) and (x2 < x or sign * y2 > sign * y)
            for j, (x2, y2) in enumerate(points) if j != i
        )
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def _unit(v: float, values: list[float]) -> float:
    """v's position in the range of values, 0..1 (0.5 when they are all equal)."""
    lo, hi = min(values), max(values)
    return (v - lo) / (hi - lo) if hi > lo else 0.5


def quality_band(result: TaskResult, metric: str, higher_is_better: bool, y: float
                 ) -> tuple[float, float] | None:
    """The quality values at the ends of the metric's retention interval (None without one)."""
    gate = result.gates.get(metric)
    ret = result.retention.get(metric)
    if not gate or not ret:
        return None
    ends = (gate["low"] / ret, gate["high"] / ret) if higher_is_better else \
        (ret / gate["high"], ret / gate["low"]) if gate["low"] > 0 else None
    return (y * ends[0], y * ends[1]) if ends else None


# the x axes of the Pareto views: quality against latency and against memory
FRONT_AXES = ("latency", "memory")


def front_x(results: list[TaskResult], axis: str) -> Measurement | None:
    """The cost on a Pareto view's x axis: the headline latency, or the variant's footprint."""
    return primary(results, "latency") if axis == "latency" else footprint_metric(results)


def latency_band(result: TaskResult, x: float) -> tuple[float, float] | None:
    """The latency value's interval, from the relative interval of the median batch time."""
    t = (result.info.get("timing") or {}).get("median_batch_s")
    if not t or not t.get("value"):
        return None
    return x * t["low"] / t["value"], x * t["high"] / t["value"]


def plot_pareto(results: list[TaskResult], task: str, out: Path, axis: str = "latency"
                ) -> Path | None:
    """Quality vs latency (or memory) of every model x variant on one task; baseline starred,
    front joined, intervals drawn as error bars."""
    rs = [r for r in results if r.info.get("task") == task]
    q, xm = primary(rs, "quality"), front_x(rs, axis)
    if q is None or xm is None:
        return None
    pts, who, base, bands, xbands = [], [], [], [], []
    for r in rs:
        x, y = value(r, xm.name), value(r, q.name)
        if x is None or y is None:
            continue
        pts.append((x, y))
        bands.append(quality_band(r, q.name, q.higher_is_better, y))
        xbands.append(latency_band(r, x) if axis == "latency" else None)
        who.append((str(r.info.get("model")), str(r.info.get("variant"))))
        base.append(is_baseline(r))
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(7, 5))
    models = list(dict.fromkeys(m for m, _ in who))
    colors = {m: f"C{i % 10}" for i, m in enumerate(models)}
    placed: list[tuple[float, float]] = []
    for (x, y), (model, variant), b, band, xband in zip(pts, who, base, bands, xbands,
                                                         strict=True):
        ax.scatter([x], [y], color=colors[model], marker="*" if b else "o", s=220 if b else 60,
                   edgecolors="black" if b else "none", zorder=3)
        if band or xband:  # the retention and latency intervals, in the axes' units
            ax.errorbar([x], [y], yerr=[[y - band[0]], [band[1] - y]] if band else None,
                        xerr=[[x - xband[0]], [xband[1] - x]] if xband else None,
                        color=colors[model], capsize=3, linewidth=1, zorder=2)
        # variants that land on (nearly) the same point get their labels stacked downwards
        spot = _unit(x, [p[0] for p in pts]), _unit(y, [p[1] for p in pts])
        near = sum(abs(px - spot[0]) < 0.06 and abs(py - spot[1]) < 0.04 for px, py in placed)
        placed.append(spot)
        ax.annotate(variant + (" (baseline)" if b else ""), (x, y),
                    textcoords="offset points", xytext=(6, 4 - 10 * near), fontsize=8)
    front = pareto_front(pts, q.higher_is_better)
    ax.plot([pts[i][0] for i in front], [pts[i][1] for i in front], "--o", color="gray",
            markerfacecolor="none", markersize=14, zorder=2, label="Pareto front")
    for m in models:
        ax.scatter([], [], color=colors[m], label=m)
    ax.set_xlabel(label(xm) + " - lower is better")
    better = "higher" if q.higher_is_better else "lower"
    ax.set_ylabel(f"{label(q)} - {better} is better")
    ax.set_title(f"{task}: quality vs {axis}" + (
        " (bars: intervals)" if any(bands) or any(xbands) else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)


def bar_panel(ax: Axes, results: list[TaskResult], kind: str, title: str,
              order: list[str] | None = None) -> bool:
    """Bars of the headline metric of `kind` per variant, one series per model (x task)."""
    m = primary(results, kind)
    if m is None:
        ax.text(0.5, 0.5, f"{title}: not measured", ha="center", va="center")
        ax.set_axis_off()
        return False
    variants = variant_order(results, order)
    series: dict[str, dict[str, float]] = {}
    for r in results:
        v = value(r, m.name)
        if v is None:
            continue
        key = str(r.info.get("model"))
        if kind not in PER_MODEL_KINDS:
            key += f" · {r.info.get('task')}"
        series.setdefault(key, {}).setdefault(str(r.info.get("variant")), v)
    width = 0.8 / max(len(series), 1)
    for i, (name, vals) in enumerate(series.items()):
        xs = [j + i * width - 0.4 + width / 2 for j, v in enumerate(variants) if v in vals]
        ax.bar(xs, [vals[v] for v in variants if v in vals], width, label=name)
    ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right")
    ax.set_xlabel("variant")
    ax.set_ylabel(label(m))
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=7)
    return True


def retention_panel(ax: Axes, results: list[TaskResult], order: list[str] | None = None) -> bool:
    """Retention of the headline quality metric per variant, with each bar's threshold."""
    variants = variant_order(results, order)
    series: dict[str, dict[str, tuple[float, float | None, tuple[float, float] | None]]] = {}
    for task in dict.fromkeys(str(r.info.get("task")) for r in results):
        rs = [r for r in results if r.info.get("task") == task]
        q = primary(rs, "quality")
        if q is None:
            continue
        for r in rs:
            ret = 1.0 if is_baseline(r) else r.retention.get(q.name)
            if ret is not None:
                key = f"{r.info.get('model')} · {task} ({q.name})"
                gate = r.gates.get(q.name)
                series.setdefault(key, {})[str(r.info.get("variant"))] = (
                    ret, r.thresholds.get(q.name), (gate["low"], gate["high"]) if gate else None)
    if not series:
        ax.text(0.5, 0.5, "Quality retention: not measured", ha="center", va="center")
        ax.set_axis_off()
        return False
    width = 0.8 / len(series)
    for i, (name, vals) in enumerate(series.items()):
        idx = [j for j, v in enumerate(variants) if v in vals]
        xs = [j + i * width - 0.4 + width / 2 for j in idx]
        ax.bar(xs, [vals[variants[j]][0] for j in idx], width, label=name)
        for x, j in zip(xs, idx, strict=True):
            ret, thr, band = vals[variants[j]]
            if thr is not None:
                ax.hlines(thr, x - width / 2, x + width / 2, colors="red", linewidth=2)
            if band is not None:
                ax.errorbar([x], [ret], yerr=[[ret - band[0]], [band[1] - ret]], color="black",
                            capsize=3, linewidth=1)
    ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right")
    ax.set_xlabel("variant")
    ax.set_ylabel("retention vs baseline (ratio; red = threshold, bars = interval)")
    low = min(v[2][0] if v[2] else v[0] for vals in series.values() for v in vals.values())
    high = max(v[2][1] if v[2] else v[0] for vals in series.values() for v in vals.values())
    # zoom: differences are a few percent
    ax.set_ylim(max(0.0, min(low, 0.9) - 0.05), max(1.05, min(high, 1.5) + 0.02))
    ax.set_title("Quality retention")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="lower left")
    return True


def plot_combined(results: list[TaskResult], out: Path, order: list[str] | None = None) -> Path:
    """One figure with retention, latency, throughput, memory, size and energy per variant."""
    fig, axes = plt.subplots(2, 3, figsize=(17, 9.5))
    retention_panel(axes[0][0], results, order)
    bar_panel(axes[0][1], results, "latency", "Latency", order)
    for ax, (kind, title) in zip(axes.flat[2:], BAR_PANELS, strict=True):
        bar_panel(ax, results, kind, title, order)
    fig.suptitle("vlmq: all metrics per variant")
    return _save(fig, out)


def plot_all(results: list[TaskResult], out_dir: Path,
             order: list[str] | None = None) -> dict[str, Path]:
    """Write every plot of a run; returns {plot name: path} for the ones with data."""
    out: dict[str, Path] = {}
    for task in dict.fromkeys(str(r.info.get("task")) for r in results):
        for axis in FRONT_AXES:
            suffix = "" if axis == "latency" else f"_{axis}"
            p = plot_pareto(results, task, out_dir / f"pareto{suffix}_{_file(task)}.png", axis)
            if p:
                out[f"pareto{suffix}_{task}"] = p
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    drew = [bar_panel(axes[0], results, "memory", "Peak memory", order),
            bar_panel(axes[1], results, "size", "Model size", order)]
    if any(drew):
        out["memory_size"] = _save(fig, out_dir / "memory_size.png")
    else:
        plt.close(fig)
    for kind, title in BAR_PANELS[2:]:
        fig, ax = plt.subplots(figsize=(8, 5))
        if bar_panel(ax, results, kind, title, order):
            out[kind] = _save(fig, out_dir / f"{kind}.png")
        else:
            plt.close(fig)
    p = plot_limits(results, out_dir / "hardware_limits.png")
    if p:
        out["hardware_limits"] = p
    if results:
        out["combined"] = plot_combined(results, out_dir / "combined_metrics.png", order)
    return out


def plot_limits(results: list[TaskResult], out: Path) -> Path | None:
    """Decode time per step of every generative entry against the bandwidth bound."""
    rows = [r for r in results if "decode_bound_ms" in r.metrics
            and r.metrics["decode_bound_ms"].value is not None]
    if not rows:
        return None
    labels = [f"{r.info.get('model')}\n{r.info.get('variant')} {r.info.get('task')}"
              for r in rows]
    xs = range(len(rows))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(rows)), 5))
    ax.bar(xs, [r.metrics["decode_step_ms"].value for r in rows], label="measured")
    ax.scatter(xs, [r.metrics["decode_bound_ms"].value for r in rows], color="black",
               marker="_", s=600, zorder=3, label="bandwidth bound")
    for x, r in zip(xs, rows, strict=True):
        eff = r.metrics["decode_efficiency"].value
        ax.annotate(f"{eff:.0%}", (x, r.metrics["decode_step_ms"].value), ha="center",
                    va="bottom", fontsize=8)
    ax.set_xticks(list(xs), labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("decode step (ms)")
    ax.set_yscale("log")
    ax.set_title("Decode time per step vs the memory-bandwidth bound (efficiency above bars)")
    ax.legend()
    return _save(fig, out)


def _file(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _save(fig: plt.Figure, out: Path) -> Path:
    fig.tight_layout()
    try:
        with writing(out, "a plot") as tmp:
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return out
