"""A few samples with the baseline's and each variant's outputs side by side.

Writes spotcheck.html (images embedded as base64 PNG, so the page travels alone) and
spotcheck.png (the same as an image grid). Images come from a caller-supplied
`image_lookup(sample_id) -> PIL image` (None or an exception: shown as unavailable).
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vlmq.report.view import variant_order
from vlmq.results.atomic import write_atomic, writing
from vlmq.results.schema import SampleRecord
from vlmq.results.store import RunStore
from vlmq.results.summary import is_baseline

ImageLookup = Callable[[str], Any]
THUMB = 256


def pick_samples(records: list[SampleRecord], n: int) -> list[SampleRecord]:
    """n records spread evenly over the subset (first, last and between)."""
    if len(records) <= n:
        return list(records)
    step = (len(records) - 1) / max(n - 1, 1)
    return [records[round(i * step)] for i in range(n)]


def collect(store: RunStore, n: int = 4, disagreeing: int = 0) -> list[dict[str, Any]]:
    """Per (model, task): the picked samples with every variant's output, baseline first.

    n samples spread over the subset, plus up to `disagreeing` more where some variant's
    output differs from the baseline's (the ones worth reading), in subset order."""
    results = store.results()
    groups = []
    for key in dict.fromkeys((str(r.info.get("model")), str(r.info.get("task")))
                             for r in results):
        rs = [r for r in results if (r.info.get("model"), r.info.get("task")) == key]
        variants = variant_order(rs, list(store.read_config().get("variants") or []))
        base = next((str(r.info.get("variant")) for r in rs if is_baseline(r)), variants[0])
        recs = {v: store.completed(key[0], v, key[1]) for v in variants}
        base_recs = store.records(key[0], base, key[1])
        picked = pick_samples(base_recs, n)
        chosen = {r.sample_id for r in picked}
        picked += [r for r in base_recs if r.sample_id not in chosen
                   and _disagrees(r, recs)][:disagreeing]
        samples = []
        for rec in sorted(picked, key=lambda r: r.index):
            outputs = {v: recs[v].get(rec.sample_id) for v in variants}
            samples.append({"record": rec, "outputs": outputs,
                            "disagree": _disagrees(rec, recs)})
        if samples:
            groups.append({"model": key[0], "task": key[1], "baseline": base,
                           "samples": samples})
    return groups


def _disagrees(rec: SampleRecord, recs: dict[str, dict[str, SampleRecord]]) -> bool:
    """Whether any variant that ran this sample gave another output than the baseline."""
    outputs = [by_id.get(rec.sample_id) for by_id in recs.values()]
    return any(o is not None and output_text(o) != output_text(rec) for o in outputs)


def write_spotcheck(store: RunStore, image_lookup: ImageLookup | None = None,
                    n: int = 4) -> list[Path]:
    """Write spotcheck.html and spotcheck.png; returns the paths written (none without records)."""
    groups = collect(store, n)
    if not groups:
        return []
    images = {s["record"].sample_id: thumbnail(image_lookup, s["record"].sample_id)
              for g in groups for s in g["samples"]}
    write_atomic(store.spotcheck_html, _html(store.run_id, groups, images), "the spot-check page")
    _grid(groups, images, store.spotcheck_png)
    return [store.spotcheck_html, store.spotcheck_png]


def thumbnail(lookup: ImageLookup | None, sample_id: str) -> Any:
    if lookup is None:
        return None
    try:
        img = lookup(sample_id)
    except Exception:  # noqa: BLE001 - a missing image must not stop the report
        return None
    if img is None:
        return None
    img = img.convert("RGB")
    img.thumbnail((THUMB, THUMB))
    return img


def output_text(rec: SampleRecord | None) -> str:
    if rec is None:
        return "(not run)"
    if rec.error:
        return f"(failed: {rec.error})"
    return str(rec.prediction)


def _html(run_id: str, groups: list[dict[str, Any]], images: dict[str, Any]) -> str:
    e = html.escape
    parts = [f"<!doctype html><meta charset='utf-8'><title>spot check {e(run_id)}</title>",
             "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:4px;"
             "vertical-align:top}table{border-collapse:collapse;margin-bottom:1em}"
             ".diff{background:#fff3cd}</style>", f"<h1>Spot check: run {e(run_id)}</h1>",
             "<p>Highlighted outputs differ from the baseline's.</p>"]
    for g in groups:
        parts.append(f"<h2>{e(g['model'])} / {e(g['task'])}</h2>")
        for s in g["samples"]:
            rec: SampleRecord = s["record"]
            img = images.get(rec.sample_id)
            pic = image_tag(img, rec.sample_id)
            rows = output_rows(s["outputs"], g["baseline"])
            parts.append(
                f"<table><tr><td rowspan='{len(s['outputs']) + 2}'>{pic}</td>"
                f"<th colspan='2'>sample {e(rec.sample_id)}</th></tr>"
                f"<tr><td colspan='2'><b>prompt:</b> {e(str(rec.prompt or ''))}<br>"
                f"<b>reference:</b> {e(str(rec.references))}</td></tr>{rows}</table>")
    return "\n".join(parts)


def image_tag(img: Any, alt: str, missing: str = "<i>image unavailable</i>") -> str:
    """An inline PNG <img> of `img`, or `missing` when there is no image."""
    if img is None:
        return missing
    return f"<img src='data:image/png;base64,{png_b64(img)}' alt='{html.escape(alt)}'>"


def output_rows(outputs: dict[str, SampleRecord | None], baseline: str) -> str:
    """One table row per variant: its output and per-sample scores, highlighted (class diff)
    where the output differs from the baseline's."""
    e = html.escape
    base_text = output_text(outputs[baseline])
    return "".join(
        f"<tr{' class=diff' if output_text(r) != base_text else ''}><th>{e(v)}"
        f"{' (baseline)' if v == baseline else ''}</th><td>{e(output_text(r))}</td>"
        f"<td>{e(score_text(r))}</td></tr>" for v, r in outputs.items())


def score_text(rec: SampleRecord | None) -> str:
    if rec is None or not rec.scores:
        return ""
    return ", ".join(f"{k}={v:.3g}" for k, v in rec.scores.items())


def png_b64(img: Any) -> str:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _grid(groups: list[dict[str, Any]], images: dict[str, Any], out: Path) -> None:
    import matplotlib.pyplot as plt  # plots.py has selected the Agg backend

    samples = [(g, s) for g in groups for s in g["samples"]]
    fig, axes = plt.subplots(len(samples), 2, figsize=(12, 2.8 * len(samples)),
                             gridspec_kw={"width_ratios": [1, 3]}, squeeze=False)
    for (g, s), (ax_img, ax_txt) in zip(samples, axes, strict=True):
        rec: SampleRecord = s["record"]
        img = images.get(rec.sample_id)
        if img is not None:
            ax_img.imshow(img)
        else:
            ax_img.text(0.5, 0.5, "image\nunavailable", ha="center", va="center")
        ax_img.set_title(f"{g['model']} / {g['task']}\n{rec.sample_id}", fontsize=8)
        ax_img.set_axis_off()
        lines = [f"reference: {_short(str(rec.references))}"]
        lines += [f"{v}{' (baseline)' if v == g['baseline'] else ''}: {_short(output_text(r))}"
                  for v, r in s["outputs"].items()]
        ax_txt.text(0, 1, "\n".join(lines), va="top", ha="left", fontsize=8, family="monospace")
        ax_txt.set_axis_off()
    fig.tight_layout()
    try:
        with writing(out, "the spot-check grid") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)


def _short(text: str, width: int = 90) -> str:
    # a broken variant can emit control characters, which no font has a glyph for
    printable = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in text)
    return textwrap.shorten(printable, width=width, placeholder=" ...")
