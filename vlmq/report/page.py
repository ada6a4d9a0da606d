"""One self-contained HTML page: plotly.js inlined once, figures as divs, no network at all.

report.html and history.html are read offline, attached to CI runs and mailed around, so
everything they need travels inside the file: plotly.js itself (not its CDN), images as data
URIs, and a few lines of our own script for sorting and filtering.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1360px;color:#222;
     padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 7px;vertical-align:top;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
th.sort{cursor:pointer;background:#f3f3f3;white-space:nowrap}
th.sort:after{content:" \\2195";color:#999}
.pass{color:#176f2c;font-weight:600}.fail{color:#b00020;font-weight:700}
.inconclusive{color:#a65e00;font-weight:600}
.diff{background:#fff3cd}
.sample{display:flex;gap:1em;margin:.5em 0 1em;border-top:1px solid #ddd;padding-top:.5em}
.sample img{width:192px;height:auto;align-self:flex-start;image-rendering:pixelated;
            border:1px solid #ccc}
.muted{color:#777}
table.decision td{font-size:.85em;white-space:nowrap;padding:2px 4px}
.wide{overflow-x:auto}
"""

# Click a header with class "sort" to sort its table by that column (numbers by data-v).
SORT_JS = """
document.querySelectorAll("th.sort").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.dataset.dir !== "asc";
    th.parentNode.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = asc ? "asc" : "desc";
    var key = function (row) {
      var cell = row.children[col], v = cell.dataset.v;
      return v !== undefined && v !== "" ? parseFloat(v) : cell.textContent;
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var c = typeof x === "number" && typeof y === "number" ? x - y
        : String(x).localeCompare(String(y));
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def figure_div(fig: Any, div_id: str) -> str:
    """A figure as a div plus its newPlot call; plotly.js itself comes once from `page`."""
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def page(title: str, body: str, script: str = "") -> str:
    """The whole document: plotly.js, the page's styles, `body`, then its own `script`."""
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{CSS}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>\n{body}\n"
            f"<script>{SORT_JS}{script}</script></body></html>\n")


def esc(value: Any) -> str:
    """Escaped text of a value; lists read as 'a, b' rather than Python's repr."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return html.escape(str(value))


def num(value: float | None, digits: int = 4) -> str:
    """A table cell for a number: formatted text, the raw value in data-v for sorting."""
    if value is None:
        return "<td class='num' data-v=''>n/a</td>"
    return f"<td class='num' data-v='{value!r}'>{value:.{digits}g}</td>"


def sortable_table(head: list[str], rows: list[list[str]], table_id: str = "") -> str:
    """A table whose header cells sort it; each row is a list of ready-made <td> cells."""
    ident = f" id='{esc(table_id)}'" if table_id else ""
    ths = "".join(f"<th class='sort'>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    return (f"<div class='wide'><table{ident}><thead><tr>{ths}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")
