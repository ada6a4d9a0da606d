"""report.md: the page a person reads first - settings, machine, a verdict table per task,
the plots, skipped variants and the caveats that matter when reading the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmq.report.decision import decision_matrix
from vlmq.report.matrix_render import matrix_markdown
from vlmq.report.pick import label, primary
from vlmq.report.view import Row, RunView
from vlmq.results.atomic import write_atomic
from vlmq.results.schema import TaskResult
from vlmq.results.store import RunStore
from vlmq.stats.gates import describe

SETTINGS = ("models", "variants", "tasks", "samples", "device", "baseline", "batch_size",
            "max_new_tokens", "seed", "warmup_rounds", "attn_implementation", "energy", "gate",
            "confidence")
COLUMN_KINDS = ("latency", "throughput", "memory", "size", "energy")
CPU_ENERGY_NOTE = ("CPU energy comes from codecarbon; without readable RAPL counters it is a "
                   "TDP-based estimate (time x assumed watts): compare it between variants, "
                   "not as an absolute figure.")


def render(store: RunStore, plots: dict[str, Path], spotcheck: list[Path],
           view: RunView | None = None) -> str:
    config = store.read_config()
    view = view or RunView.of(store.results(), config)
    results = view.results
    out = [f"# vlmq run `{store.run_id}`", ""]
    out += matrix_markdown(decision_matrix(view))
    out += _verdict(view)
    fronts = {n: p for n, p in plots.items() if n.startswith("pareto")}
    if fronts:
        out += ["Pareto fronts (quality against latency and against footprint, per task; bars: "
                "intervals):", ""]
        out += [f"![{n}]({p.relative_to(store.root)})" for n, p in fronts.items()] + [""]
    out += _inconclusive(view)
    out += _looks(view)
    out += ["## Settings", "", "| setting | value |", "|---|---|"]
    out += [f"| {k} | {_cell(config[k])} |" for k in SETTINGS if k in config]
    out += ["", "All settings: [config.yaml](config.yaml). Raw numbers: "
                "[summary.csv](summary.csv), [summary.json](summary.json).", ""]
    machine = store.read_machine()
    if machine:
        out += ["## Machine", ""] + [f"- **{k}**: {_cell(v)}" for k, v in _flat(machine)] + [""]
    for task in view.tasks:
        out += _task_table(task, view.for_task(task))
        out += _speed_table(view.for_task(task))
    out += _limits_table(results)
    rest = {n: p for n, p in plots.items() if n not in fronts}
    if rest:
        out += ["## Plots", ""]
        out += [f"### {name.replace('_', ' ')}\n\n![{name}]({p.relative_to(store.root)})\n"
                for name, p in rest.items()]
    if spotcheck:
        out += ["## Spot check", "", "Baseline and variant outputs on a few samples: " + ", ".join(
            f"[{p.name}]({p.relative_to(store.root)})" for p in spotcheck), ""]
    skips = store.skips()
    if skips:
        out += ["## Skipped", "", "| model | variant | task | reason |", "|---|---|---|---|"]
        out += [f"| {s['model']} | {s['variant']} | {s['task'] or 'all'} | {s['reason']} |"
                for s in skips] + [""]
    notes = _notes(store, results)
    if notes:
        out += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(out)


def write_report(store: RunStore, plots: dict[str, Path], spotcheck: list[Path],
                 view: RunView | None = None) -> Path:
    write_atomic(store.report_md, render(store, plots, spotcheck, view), "the report")
    return store.report_md


def _verdict(view: RunView) -> list[str]:
    gated = view.gated()
    failed = [w for w in gated if not w.passed]
    if not view.results:
        return ["**No task results were stored in this run.**", ""]
    if not gated:
        return ["**Nothing was gated in this run**: no variant was judged against a baseline "
                "(only the baseline ran, or no result carries a retention threshold).", ""]
    line = f"**{len(gated) - len(failed)} of {len(gated)} gated variant x task results passed.**"
    if failed:
        line += " Failed: " + ", ".join(f"{w.model} / {w.variant} / {w.task}"
                                        for w in failed) + "."
    return [line, ""]


def _inconclusive(view: RunView) -> list[str]:
    """Every gate whose interval straddles its threshold, with the samples that would decide."""
    lines = [f"- {w.model} {w.variant} {w.task} {describe(name, g)}" for w in view.rows
             for name, g in w.result.gates.items()
             if g.get("verdict") == "inconclusive" and not w.superseded]
    if not lines:
        return []
    policy = view.policy
    effect = ("they fail the run" if policy == "strict" else
              "they pass under the `significant` policy" if policy == "significant" else
              "the `point` policy judges the point retention alone")
    return ["## Inconclusive gates", "",
            f"The retention interval straddles the threshold: the data support neither verdict "
            f"({effect}). Rerun with `--vlmq-samples` at least the number shown, or `-m slow` "
            "for the whole split, to decide them.", "", *lines, ""]


def _looks(view: RunView) -> list[str]:
    """With --vlmq-samples auto: each entry that needed more than its first look, and what the
    last look decided."""
    grown = [w.result for w in view.rows if w.result.gates and not w.superseded
             and w.result.info.get("look", {}).get("n", 0)
             > w.result.info.get("look", {}).get("sizes", [0])[0]]
    if not grown:
        return []
    lines = []
    for r in grown:
        look = r.info["look"]
        gates = "; ".join(describe(name, g) for name, g in r.gates.items())
        lines.append(f"- {r.info.get('model')} {r.info.get('variant')} {r.info.get('task')} "
                     f"(look {look['sizes'].index(look['n']) + 1} of {look['of']}): {gates}")
    return ["## Gates decided by more samples (--vlmq-samples auto)", "",
            "Entries whose first look left a gate inconclusive, at the look that ended their "
            "sequence (each look's interval at the confidence shown in the entry, the error "
            "rate split across the looks; see vlmq/stats/sequential.py).", "", *lines, ""]


def _retention_cell(ret: float, gate: dict[str, Any] | None, threshold: float | None) -> str:
    """`96.1% [94.0%..98.2%] ≥ 97%`; above 100% within noise reads "no detectable change"."""
    text = f"{ret:.1%}"
    if gate:
        text += f" [{gate['low']:.1%}..{gate['high']:.1%}]"
        if ret > 1 and gate["low"] <= 1:
            text = f"no detectable change: {text}"
    if threshold is not None:
        text += f" ≥ {threshold:.0%}"
    return f" ({text})"


def _task_table(task: str, rows: list[Row]) -> list[str]:
    rs = [w.result for w in rows]
    quality = list(dict.fromkeys(n for r in rs for n, m in r.metrics.items()
                                 if m.kind == "quality"))
    heads = [primary(rs, k) for k in COLUMN_KINDS]
    cols = [m for m in heads if m is not None]
    head = ["model", "variant"] + [f"{q} (retention)" for q in quality] + \
        [label(m) for m in cols] + ["result"]
    out = [f"## Task `{task}`", "", "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
    for w in rows:
        cells = [w.model, w.variant]
        for q in quality:
            ret = w.result.retention.get(q)
            cell = _num(w.value(q))
            if ret is not None:
                cell += _retention_cell(ret, w.result.gates.get(q),
                                        w.result.thresholds.get(q))
            cells.append(cell)
        cells += [_num(w.value(m.name)) for m in cols]
        cells.append(_result_word(w))
        out.append("| " + " | ".join(cells) + " |")
    dataset = rs[0].info.get("dataset")
    samples = rs[0].info.get("samples")
    confidence = next((g["confidence"] for r in rs for g in r.gates.values()), None)
    interval = (f" In brackets: its {confidence:.0%} paired bootstrap interval; a gate passes "
                "when the whole interval is at or above the threshold, fails when it is wholly "
                "below, and is inconclusive otherwise." if confidence else "")
    out += ["", f"Dataset `{dataset}`, {samples} samples. Retention = variant / baseline; "
                f"the gate needs retention ≥ the threshold shown.{interval}", ""]
    return out + _timing_lines(rows)


def _result_word(w: Row) -> str:
    if w.baseline:
        return "baseline"
    if w.passed is None:
        return "-"
    if w.superseded:
        return f"inconclusive, see `{w.result.info['next_look']}`"
    if not w.passed:
        return "**FAIL**"
    undecided = any(g.get("verdict") == "inconclusive" for g in w.result.gates.values())
    return "pass (inconclusive)" if undecided else "pass"


def _timing_lines(rows: list[Row]) -> list[str]:
    """Per variant: median batch latency, throughput, TPOT and latency ratio with their
    intervals."""
    lines = []
    rs = [w.result for w in rows]
    for r in rs:
        t = r.info.get("timing") or {}
        parts = [f"{label} {_ci(t[key], fmt)}" for key, label, fmt in (
            ("median_batch_s", "median batch", "{:.3g} s"),
            ("throughput_samples_per_s", "throughput", "{:.3g} samples/s"),
            ("tpot_s", "TPOT (median step per batch)", "{:.3g} s"),
            ("latency_ratio", "latency", "{:.2f}× the baseline's")) if key in t]
        if parts:
            lines.append(f"- {r.info.get('model')} {r.info.get('variant')}: " + ", ".join(parts))
    if not lines:
        return []
    confidence = next(d["confidence"] for r in rs for d in (r.info.get("timing") or {}).values())
    return [f"Timing, with {confidence:.0%} bootstrap intervals over this run's batches (they do "
            "not include run-to-run noise):", "", *lines, ""]


def _ci(d: dict[str, Any], fmt: str) -> str:
    return f"{fmt.format(d['value'])} [{fmt.format(d['low'])}..{fmt.format(d['high'])}]"


SPEED_COLUMNS = ("latency_p50_ms", "e2e_latency_p50_ms", "input_wait_mean_ms", "ttft_p50_ms",
                 "ttft_p90_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p90_ms", "tpot_p99_ms",
                 "decode_tokens_per_s")


def _speed_table(rows: list[Row]) -> list[str]:
    """Where the time goes: the model's call, end to end, input wait, and per token."""
    cols = [c for c in SPEED_COLUMNS if any(w.value(c) is not None for w in rows)]
    if not any(c.startswith("ttft_p") for c in cols):
        return []
    out = ["| model | variant | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 2)]
    for w in rows:
        out.append("| " + " | ".join([w.model, w.variant] + [_num(w.value(c)) for c in cols])
                   + " |")
    return out + ["", "Per batch, in ms: the model's own call (latency), preprocessing + model "
                      "(e2e), time waiting for input; time to first token (ttft) and time per "
                      "output token (tpot: one decoding step of the batch) percentiles.", ""]


LIMIT_COLUMNS = ("decode_step_ms", "decode_bound_ms", "decode_efficiency", "ttft_ms",
                 "prefill_bound_ms", "prefill_efficiency")


def _limits_table(results: list[TaskResult]) -> list[str]:
    """Each generative entry's decode step and prefill next to the device's lower bounds."""
    rows = [r for r in results if "decode_bound_ms" in r.metrics or "prefill_bound_ms" in r.metrics]
    if not rows:
        return []
    out = ["## Hardware limits", "",
           "Lower bounds from this device's measured memory bandwidth (weights read per decode "
           "step) and dense matmul peak (2 x parameters x prompt tokens per prefill); "
           "efficiency = bound / measured (1.0 = at the limit).", ""]
    limits = rows[0].info.get("hardware_limits") or {}
    if limits:
        spread = limits.get("bandwidth_range_bytes_per_s")
        bursts = (f" (median burst; bursts {spread[0] / 1e9:.1f}-{spread[1] / 1e9:.1f})"
                  if spread else "")
        out += [f"Measured on `{limits.get('device')}`: bandwidth "
                f"{limits['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s{bursts}, matmul peak "
                f"{limits['matmul_flops_per_s'] / 1e12:.2f} TFLOP/s "
                f"({limits.get('matmul_dtype')}).",
                ""]
    out += ["| model | variant | task | generation | " + " | ".join(LIMIT_COLUMNS) + " |",
            "|---|---|---|---|" + "---|" * len(LIMIT_COLUMNS)]
    for r in rows:
        cells = [str(r.info.get(k)) for k in ("model", "variant", "task", "generation")]
        cells += [_num(r.metrics[c].value) if c in r.metrics else "-" for c in LIMIT_COLUMNS]
        out.append("| " + " | ".join(cells) + " |")
    return out + [""]


def _notes(store: RunStore, results: list[TaskResult]) -> list[str]:
    # the same note on many results is said once, with the results it applies to
    where: dict[tuple[str, str], list[str]] = {}
    for r in results:
        label = f"{r.info.get('model')} / {r.info.get('variant')} / {r.info.get('task')}"
        for k, v in r.notes.items():
            where.setdefault((k, str(v)), []).append(label)
    notes: list[str] = []
    for (k, v), labels in where.items():
        scope = "all results" if len(labels) == len(results) else (
            labels[0] if len(labels) == 1 else f"{len(labels)} results ({', '.join(labels[:3])}"
            + (", ..." if len(labels) > 3 else "") + ")")
        notes.append(f"{k}: {v} [{scope}]")
    cpu_energy = any(r.info.get("device") == "cpu" and any(
        m.kind == "energy" and m.value is not None for m in r.metrics.values()) for r in results)
    if cpu_energy:
        notes.append(CPU_ENERGY_NOTE)
    for r in results:
        m, v, t = (str(r.info.get(k)) for k in ("model", "variant", "task"))
        errors = [x for x in store.records(m, v, t) if x.error]
        if errors:
            notes.append(f"{m} / {v} / {t}: {len(errors)} sample(s) failed and were not scored "
                         f"(first: {errors[0].sample_id}: {errors[0].error}).")
    return list(dict.fromkeys(notes))


def _flat(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for k, v in d.items():
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out


def _cell(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) or "(all)"
    if isinstance(v, dict):
        return ", ".join(f"{k}={x}" for k, x in v.items()) or "-"
    return str(v).replace("|", "\\|")


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4g}"
