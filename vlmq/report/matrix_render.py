"""The decision matrix as terminal text, markdown and HTML: the first thing each report shows.

Formatting only; what a cell holds is decided in `vlmq.report.decision`. Kept free of plotly
and matplotlib, so the terminal summary pays for neither.
"""

from __future__ import annotations

from html import escape

from vlmq.report.decision import Cell, DecisionMatrix, Interval, MatrixRow

VERDICT_WORD = {"fail": "FAIL", "inconclusive": "inconclusive", "pass": "pass",
                "baseline": "baseline", "superseded": "superseded", "-": "not gated"}


def _pct(iv: Interval) -> str:
    text = f"{iv.value:.1%}"
    if iv.has_interval and (iv.low != iv.value or iv.high != iv.value):
        text += f" [{iv.low * 100:.1f}..{iv.high * 100:.1f}]"
    return text


def _times(iv: Interval) -> str:
    text = f"{iv.value:.2f}×"
    if iv.has_interval:
        text += f" [{iv.low:.2f}..{iv.high:.2f}]"
    return text


def cell_parts(cell: Cell) -> list[str]:
    """The lines of one cell: verdict and weakest retention, then the latency ratio."""
    head = VERDICT_WORD.get(cell.verdict, cell.verdict)
    if cell.retention is not None:
        head += f" {cell.metric} {_pct(cell.retention)}"
        if cell.threshold is not None:
            head += f" ≥ {cell.threshold:.0%}"
    parts = [head]
    if cell.latency_ratio is not None and cell.verdict != "baseline":
        parts.append(f"latency {_times(cell.latency_ratio)}")
    return parts


def row_costs(row: MatrixRow, unit: str) -> list[str]:
    """footprint, median latency ratio, energy ratio of a row ('-' where not measured)."""
    foot = "-" if row.footprint is None else f"{row.footprint:.4g} {unit}".strip()
    if row.footprint_ratio is not None and not row.baseline:
        foot += f" ({row.footprint_ratio:.2f}×)"
    lat = "-" if row.latency_ratio is None else _times(row.latency_ratio)
    if row.baseline:
        lat = "1.00×"
    energy = "-" if row.energy_ratio is None else f"{row.energy_ratio:.2f}×"
    return [foot, lat, energy]


COST_HEADS = ("footprint", "latency ×", "energy ×")


def legend(matrix: DecisionMatrix) -> str:
    conf = f"{matrix.confidence:.0%} " if matrix.confidence else ""
    return (f"Each cell: the worst gate verdict on that task and the retention (variant / "
            f"baseline) of its weakest metric with its {conf}interval and threshold, then the "
            "median batch latency against the baseline's with its interval over this run's "
            "batches. Then the footprint, the median latency ratio over the tasks (with that "
            "task's interval) and the median energy per sample ratio; footprint and energy are "
            "one measurement each (no interval); ratios are against the model's baseline.")


def _short(cell: Cell) -> str:
    """A terminal cell: `pass 99.1 [97.7..100.2] 1.86×` (retention in %, then latency ratio)."""
    if cell.verdict == "baseline":
        return "baseline"
    text = {"inconclusive": "undecided", "fail": "FAIL"}.get(cell.verdict, cell.verdict)
    iv = cell.retention
    if iv is not None:
        text += f" {iv.value * 100:.1f}"
        if iv.has_interval and (iv.low != iv.value or iv.high != iv.value):
            text += f" [{iv.low * 100:.1f}..{iv.high * 100:.1f}]"
    if cell.latency_ratio is not None:
        text += f" {cell.latency_ratio.value:.2f}×"
    return text


def matrix_markdown(matrix: DecisionMatrix) -> list[str]:
    if not matrix.rows:
        return []
    out = ["## Decision", ""]
    for model, tasks, rows in matrix.by_model():
        head = ["variant", *[f"`{t}`" for t in tasks], *COST_HEADS]
        out += [f"**{model}**", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in rows:
            cells = []
            for t in tasks:
                c = row.cells.get(t)
                parts = cell_parts(c) if c else ["-"]
                if c and c.verdict == "fail":
                    parts[0] = f"**{parts[0]}**"
                cells.append("<br>".join(parts))
            out.append("| " + " | ".join([row.variant, *cells,
                                          *row_costs(row, matrix.footprint_unit)]) + " |")
        out.append("")
    return out + [legend(matrix), ""]


def matrix_html(matrix: DecisionMatrix) -> str:
    if not matrix.rows:
        return ""
    out = ["<h2>Decision</h2>"]
    for model, tasks, rows in matrix.by_model():
        heads = "".join(f"<th>{_esc(h)}</th>" for h in [model, *tasks, *COST_HEADS])
        body = []
        for row in rows:
            tds = [f"<td><b>{_esc(row.variant)}</b></td>"]
            for t in tasks:
                c = row.cells.get(t)
                if c is None:
                    tds.append("<td class='muted'>-</td>")
                    continue
                first, *rest = cell_parts(c)
                word, _, detail = first.partition(" ")
                tds.append(f"<td><span class='{_esc(c.verdict)}'>{_esc(word)}</span> "
                           f"{_esc(detail)}" + "".join(
                               f"<br><span class='muted'>{_esc(p)}</span>" for p in rest)
                           + "</td>")
            tds += [f"<td class='num'>{_esc(x)}</td>"
                    for x in row_costs(row, matrix.footprint_unit)]
            body.append("<tr>" + "".join(tds) + "</tr>")
        out.append(f"<div class='wide'><table class='decision'><thead><tr>{heads}</tr></thead>"
                   f"<tbody>{''.join(body)}</tbody></table></div>")
    return "".join(out) + f"<p class='muted'>{_esc(legend(matrix))}</p>"


def matrix_text(matrix: DecisionMatrix) -> str:
    """Plain text for the terminal: a block per model, a line per variant."""
    if not matrix.rows:
        return ""
    out = ["vlmq decision: per task the worst gate verdict, the weakest metric's retention % "
           "[interval] and the latency ratio; then footprint, median latency and energy ratios"]
    for model, tasks, rows in matrix.by_model():
        heads = [model, *tasks, "footprint", "latency×", "energy×"]
        lines = [[row.variant, *[_short(row.cells[t]) if t in row.cells else "-"
                                 for t in tasks], *row_costs(row, matrix.footprint_unit)]
                 for row in rows]
        widths = [max(len(x[i]) for x in [heads, *lines]) for i in range(len(heads))]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out += ["", *(fmt.format(*x).rstrip() for x in [heads, *lines])]
    return "\n".join(out)


def _esc(value: object) -> str:
    return escape(str(value))
