"""Quality gates on the trained embedded model: a variant broken on purpose fails with a
message naming variant, task, metric, both scores, the ratio, the threshold and the retention
interval; a sound 8-bit variant passes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchrun import run_bench


def test_degraded_variant_fails_its_gate(tmp_path: Path, fashion_mnist: None) -> None:
    out = tmp_path / "out.json"
    proc = run_bench("-p", "crushed_variant", f"--benchmark-json={out}",
                     "--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32,int8,crushed",
                     "--vlmq-samples", "128", "--vlmq-batch-size", "64",
                     "--vlmq-reports-dir", str(tmp_path / "runs"))
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 failed, 2 passed" in proc.stdout
    line = re.search(r"vit-tiny crushed on classify: (\w+) ([\d.]+) vs baseline fp32 "
                     r"([\d.]+) = retention ([\d.]+) < threshold 0\.970; 95% interval "
                     r"([\d.]+)\.\.([\d.]+) \(fail at n=128\)", proc.stdout)
    assert line, proc.stdout[-3000:]
    value, base, ratio, low, high = (float(line.group(i)) for i in (2, 3, 4, 5, 6))
    assert abs(value / base - ratio) < 1e-3 and ratio < 0.97
    assert low <= ratio <= high < 0.97
    # the failed variant's measurements are kept in the JSON all the same
    data = json.loads(out.read_text())
    variants = {b["extra_info"]["vlmq"]["variant"]: b["extra_info"] for b in data["benchmarks"]}
    assert set(variants) == {"fp32", "int8", "crushed"}
    assert variants["int8"]["retention"]["top1"] >= 0.97
    assert variants["crushed"]["retention"]["top1"] < 0.97
    # every gated metric carries its interval and a verdict that agrees with it
    for extra in (variants["int8"], variants["crushed"]):
        assert set(extra["gates"]) == set(extra["thresholds"])
        for gate in extra["gates"].values():
            assert gate["low"] <= gate["retention"] <= gate["high"]
            expected = ("pass" if gate["low"] >= gate["threshold"] else
                        "fail" if gate["high"] < gate["threshold"] else "inconclusive")
            assert gate["verdict"] == expected and gate["n"] == 128
            assert gate["resamples"] > 0 and gate["confidence"] == 0.95
    assert variants["crushed"]["gates"]["top1"]["verdict"] == "fail"
