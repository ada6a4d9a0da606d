"""--vlmq-samples auto end to end on the trained vit-tiny: a gate left inconclusive by the first
look is taken to later looks (the baseline extended first), finished samples are reused, every
look pairs the variant with the baseline on the same samples, and a rerun resumes every look.

The threshold is set from a first run at the first look's size and confidence, in the middle
of the variant's interval, so the auto run's first look is inconclusive on any machine (hqq's
4-bit vit-tiny flips a few of the first 64 predictions)."""

from __future__ import annotations

import json
from pathlib import Path

from benchrun import run_bench

from vlmq.results.store import safe_name
from vlmq.stats.sequential import look_confidence

BASE = ("--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32,hqq-int4",
        "--vlmq-batch-size", "64")
LOOKS = [64, 128, 256]


def _entries(path: Path) -> dict[str, dict]:
    data = json.loads(path.read_text())
    return {b["extra_info"]["vlmq"]["variant"]: b["extra_info"] for b in data["benchmarks"]}


def _read(folder: Path, key: str) -> dict:
    """A run folder's JSON file of a task key (file names spell `@` as `_`)."""
    return json.loads((folder / f"{safe_name(key)}.json").read_text())


def test_auto_grows_until_the_gate_is_decided(tmp_path: Path, fashion_mnist: None) -> None:
    first = tmp_path / "first.json"
    confidence = look_confidence(0.95, len(LOOKS))
    proc = run_bench(*BASE, "--vlmq-samples", "64", "--vlmq-confidence", str(confidence),
                     f"--benchmark-json={first}", "--vlmq-reports-dir", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stdout[-3000:]
    gate = _entries(first)["hqq-int4"]["gates"]["top1"]
    assert gate["low"] < gate["high"], f"hqq-int4 matches fp32 on all 64 samples: {gate}"
    threshold = f"{(gate['low'] + gate['high']) / 2:.4f}"

    out = tmp_path / "auto.json"
    args = (*BASE, "--vlmq-samples", "auto", "--vlmq-auto-start", "64", "--vlmq-auto-looks",
            "3", "--vlmq-threshold", f"hqq-int4={threshold}", "--vlmq-run-id", "auto",
            "--vlmq-reports-dir", str(tmp_path / "runs"), "--vlmq-report", "on")
    proc = run_bench(*args, f"--benchmark-json={out}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    entry = _entries(out)["hqq-int4"]
    look = entry["vlmq"]["look"]
    assert look["sizes"] == LOOKS and look["of"] == 3 and look["n"] > 64
    assert entry["vlmq"]["task"] == f"classify@{look['n']}"
    final = entry["gates"]["top1"]
    assert final["n"] == look["n"] and abs(final["confidence"] - confidence) < 1e-9
    assert final["verdict"] != "inconclusive" or look["n"] == LOOKS[-1]
    assert "samples_auto" in entry["notes"]

    root = tmp_path / "runs" / "auto"
    keys = ["classify"] + [f"classify@{n}" for n in LOOKS[1:] if n <= look["n"]]
    subsets = [_read(root / "subsets", k) for k in keys]
    for small, large in zip(subsets, subsets[1:], strict=False):
        assert set(small) < set(large)  # each look contains the one before
    for k, key in enumerate(keys):
        base = _read(root / "results" / "vit-tiny" / "fp32", key)
        var = _read(root / "results" / "vit-tiny" / "hqq-int4", key)
        assert base["vlmq"]["samples"] == var["vlmq"]["samples"] == len(subsets[k])
        assert var["gates"]["top1"]["n"] == len(subsets[k])
        if key != keys[-1]:  # every look but the last left the gate undecided
            assert var["gates"]["top1"]["verdict"] == "inconclusive"
            assert var["vlmq"]["next_look"] == keys[k + 1]
    # the first look's records are reused by the second, not evaluated again
    records = root / "records" / "vit-tiny" / "hqq-int4"
    earlier = {r["sample_id"]: r["prediction"] for r in map(json.loads,
                                                          (records / "classify.jsonl").open())}
    later = {r["sample_id"]: r
             for r in map(json.loads, (records / f"{safe_name(keys[1])}.jsonl").open())}
    assert set(earlier) < set(later)
    assert all(later[sid]["prediction"] == pred for sid, pred in earlier.items())
    report = (root / "report.md").read_text()
    assert "Gates decided by more samples" in report and keys[-1] in report

    # the same run id again: every look is finished, nothing is evaluated anew
    again = tmp_path / "again.json"
    proc = run_bench(*args, f"--benchmark-json={again}")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert _entries(again)["hqq-int4"]["gates"] == entry["gates"]


def test_auto_cannot_be_sharded(tmp_path: Path) -> None:
    proc = run_bench("--vlmq-model", "vit-tiny", "--vlmq-samples", "auto", "--vlmq-shard", "1/2",
                     "--vlmq-reports-dir", str(tmp_path))
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "--vlmq-samples auto cannot be sharded" in proc.stdout + proc.stderr
