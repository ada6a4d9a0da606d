"""Quality gates on the trained embedded model: a variant broken on purpose fails with a
message naming variant, task, metric, both scores, the ratio and the threshold; a sound
8-bit variant passes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_degraded_variant_fails_its_gate(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "CI": "true",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "plugins"),
                                          os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "pytest", "benchmarks/test_benchmark.py", "-q",
           "-p", "no:cacheprovider", "-p", "crushed_variant", f"--benchmark-json={out}",
           "--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32,int8,crushed",
           "--vlmq-samples", "128", "--vlmq-batch-size", "64", "--vlmq-energy", "off",
           "--vlmq-report", "off",
           "--vlmq-reports-dir", str(tmp_path / "runs")]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 failed, 2 passed" in proc.stdout
    line = re.search(r"vit-tiny crushed on classify: (\w+) ([\d.]+) vs baseline fp32 "
                     r"([\d.]+) = retention ([\d.]+) < threshold 0\.970", proc.stdout)
    assert line, proc.stdout[-3000:]
    value, base, ratio = (float(line.group(i)) for i in (2, 3, 4))
    assert abs(value / base - ratio) < 1e-3 and ratio < 0.97
    # the failed variant's measurements are kept in the JSON all the same
    data = json.loads(out.read_text())
    variants = {b["extra_info"]["vlmq"]["variant"]: b["extra_info"] for b in data["benchmarks"]}
    assert set(variants) == {"fp32", "int8", "crushed"}
    assert variants["int8"]["retention"]["top1"] >= 0.97
    assert variants["crushed"]["retention"]["top1"] < 0.97
