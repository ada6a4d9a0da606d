"""report.md: the page a person reads first - settings, machine, a verdict table per task,
the plots, skipped variants and the caveats that matter when reading the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlmq.report.pick import label, primary, value
from vlmq.report.plots import variant_order
from vlmq.results.schema import TaskResult
from vlmq.results.store import RunStore
from vlmq.results.summary import DEFAULT_POLICY, gate_checks, is_baseline, passed, superseded
from vlmq.stats.gates import describe

SETTINGS = ("models", "variants", "tasks", "samples", "device", "baseline", "batch_size",
            "max_new_tokens", "seed", "warmup_rounds", "attn_implementation", "energy", "gate",
            "confidence")
COLUMN_KINDS = ("latency", "throughput", "memory", "size", "energy")
CPU_ENERGY_NOTE = ("CPU energy comes from codecarbon; without readable RAPL counters it is a "
                   "TDP-based estimate (time x assumed watts): compare it between variants, "
                   "not as an absolute figure.")


def render(store: RunStore, plots: dict[str, Path], spotcheck: list[Path]) -> str:
    results = store.results()
    order = list(store.read_config().get("variants") or [])
    out = [f"# vlmq run `{store.run_id}`", ""]
    config = store.read_config()
    policy = str(config.get("gate", DEFAULT_POLICY))
    out += _verdict(results, policy)
    out += _inconclusive(results, policy)
    out += _looks(results)
    out += ["## Settings", "", "| setting | value |", "|---|---|"]
    out += [f"| {k} | {_cell(config[k])} |" for k in SETTINGS if k in config]
    out += ["", "All settings: [config.yaml](config.yaml). Raw numbers: "
                "[summary.csv](summary.csv), [summary.json](summary.json).", ""]
    machine = store.read_machine()
    if machine:
        out += ["## Machine", ""] + [f"- **{k}**: {_cell(v)}" for k, v in _flat(machine)] + [""]
    for task in dict.fromkeys(str(r.info.get("task")) for r in results):
        rs = [r for r in results if r.info.get("task") == task]
        out += _task_table(task, rs, variant_order(rs, order), policy)
        out += _speed_table(rs, variant_order(rs, order))
    out += _limits_table(results)
    if plots:
        out += ["## Plots", ""]
        out += [f"### {name.replace('_', ' ')}\n\n![{name}]({p.relative_to(store.root)})\n"
                for name, p in plots.items()]
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


def write_report(store: RunStore, plots: dict[str, Path], spotcheck: list[Path]) -> Path:
    store.report_md.write_text(render(store, plots, spotcheck))
    return store.report_md


def _verdict(results: list[TaskResult], policy: str) -> list[str]:
    gated = [r for r in results if passed(r, policy) is not None and not superseded(r)]
    failed = [r for r in gated if not passed(r, policy)]
    if not results:
        return ["**No task results were stored in this run.**", ""]
    line = f"**{len(gated) - len(failed)} of {len(gated)} gated variant x task results passed.**"
    if failed:
        line += " Failed: " + ", ".join(
            f"{r.info.get('model')} / {r.info.get('variant')} / {r.info.get('task')}"
            for r in failed) + "."
    return [line, ""]


def _inconclusive(results: list[TaskResult], policy: str) -> list[str]:
    """Every gate whose interval straddles its threshold, with the samples that would decide."""
    lines = [f"- {r.info.get('model')} {r.info.get('variant')} {r.info.get('task')} "
             f"{describe(name, g)}" for r in results for name, g in r.gates.items()
             if g.get("verdict") == "inconclusive" and not superseded(r)]
    if not lines:
        return []
    effect = ("they fail the run" if policy == "strict" else
              "they pass under the `significant` policy" if policy == "significant" else
              "the `point` policy judges the point retention alone")
    return ["## Inconclusive gates", "",
            f"The retention interval straddles the threshold: the data support neither verdict "
            f"({effect}). Rerun with `--vlmq-samples` at least the number shown, or `-m slow` "
            "for the whole split, to decide them.", "", *lines, ""]


def _looks(results: list[TaskResult]) -> list[str]:
    """With --vlmq-samples auto: each entry that needed more than its first look, and what the
    last look decided."""
    grown = [r for r in results if r.gates and not superseded(r)
             and r.info.get("look", {}).get("n", 0) > r.info.get("look", {}).get("sizes", [0])[0]]
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


def _task_table(task: str, rs: list[TaskResult], order: list[str], policy: str) -> list[str]:
    quality = list(dict.fromkeys(n for r in rs for n, m in r.metrics.items()
                                 if m.kind == "quality"))
    heads = [primary(rs, k) for k in COLUMN_KINDS]
    cols = [m for m in heads if m is not None]
    head = ["model", "variant"] + [f"{q} (retention)" for q in quality] + \
        [label(m) for m in cols] + ["result"]
    out = [f"## Task `{task}`", "", "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
    rank = {v: i for i, v in enumerate(order)}
    for r in sorted(rs, key=lambda r: (str(r.info.get("model")),
                                       rank.get(r.info.get("variant"), len(rank)))):
        checks = gate_checks(r, policy)
        cells = [str(r.info.get("model")), str(r.info.get("variant"))]
        for q in quality:
            v = value(r, q)
            ret = r.retention.get(q)
            cell = _num(v)
            if ret is not None:
                cell += _retention_cell(ret, r.gates.get(q), checks[q][1] if q in checks
                                        else None)
            cells.append(cell)
        cells += [_num(value(r, m.name)) for m in cols]
        ok = passed(r, policy)
        undecided = any(g.get("verdict") == "inconclusive" for g in r.gates.values())
        cells.append("baseline" if is_baseline(r) else "-" if ok is None else
                     f"inconclusive, see `{r.info['next_look']}`" if superseded(r) else
                     "**FAIL**" if not ok else "pass (inconclusive)" if undecided else "pass")
        out.append("| " + " | ".join(cells) + " |")
    dataset = rs[0].info.get("dataset")
    samples = rs[0].info.get("samples")
    confidence = next((g["confidence"] for r in rs for g in r.gates.values()), None)
    interval = (f" In brackets: its {confidence:.0%} paired bootstrap interval; a gate passes "
                "when the whole interval is at or above the threshold, fails when it is wholly "
                "below, and is inconclusive otherwise." if confidence else "")
    out += ["", f"Dataset `{dataset}`, {samples} samples. Retention = variant / baseline; "
                f"the gate needs retention ≥ the threshold shown.{interval}", ""]
    return out + _timing_lines(rs, order)


def _timing_lines(rs: list[TaskResult], order: list[str]) -> list[str]:
    """Per variant: median batch latency, throughput and latency ratio with their intervals."""
    rank = {v: i for i, v in enumerate(order)}
    lines = []
    for r in sorted(rs, key=lambda r: rank.get(r.info.get("variant"), len(rank))):
        t = r.info.get("timing") or {}
        parts = [f"{label} {_ci(t[key], fmt)}" for key, label, fmt in (
            ("median_batch_s", "median batch", "{:.3g} s"),
            ("throughput_samples_per_s", "throughput", "{:.3g} samples/s"),
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


def _speed_table(rs: list[TaskResult], order: list[str]) -> list[str]:
    """Where the time goes: the model's call, end to end, input wait, and per token."""
    cols = [c for c in SPEED_COLUMNS if any(value(r, c) is not None for r in rs)]
    if not any(c.startswith("ttft_p") for c in cols):
        return []
    out = ["| model | variant | " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) + 2)]
    rank = {v: i for i, v in enumerate(order)}
    for r in sorted(rs, key=lambda r: (str(r.info.get("model")),
                                       rank.get(r.info.get("variant"), len(rank)))):
        cells = [str(r.info.get("model")), str(r.info.get("variant"))]
        out.append("| " + " | ".join(cells + [_num(value(r, c)) for c in cols]) + " |")
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
        out += [f"Measured on `{limits.get('device')}`: bandwidth "
                f"{limits['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s, matmul peak "
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
