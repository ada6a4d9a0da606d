"""`vlmq compare` on real benchmark runs: two runs of the same code report no regression; a run
whose variant was degraded on purpose is flagged on exactly that variant's quality, exit 1.

Timing, memory and energy are not judged here: runs made one after the other on this shared
2-core machine really do differ in speed (another process's threads can slow a batch eightfold,
and compare rightly flags that). False alarms on timing are tested on controlled data in
test_compare.py; these runs check quality and size, which must not move between same-code runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchrun import ROOT, run_bench


def _bench(tmp: Path, name: str, crush: str) -> Path:
    out = tmp / f"{name}.json"
    proc = run_bench("-p", "crushed_variant", f"--benchmark-json={out}",
                     "--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32,crushed",
                     "--vlmq-samples", "192", "--vlmq-batch-size", "24",
                     "--vlmq-reports-dir", str(tmp / "runs"), "--vlmq-threshold", "crushed=0",
                     VLMQ_TEST_CRUSH=crush)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return out


NOISY_KINDS = ("latency", "throughput", "memory", "energy", "time")


def _compare(*files: Path) -> tuple[int, set[tuple[str, str]]]:
    """Exit code and the (entry, metric) pairs judged a regression."""
    table = files[-1].with_suffix(".compare.json")
    loose = [arg for kind in NOISY_KINDS for arg in ("--threshold", f"{kind}=1000000")]
    proc = subprocess.run([sys.executable, "-m", "vlmq.cli", "compare", *map(str, files),
                           "--json", str(table), *loose], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode in (0, 1), proc.stderr
    rows = json.loads(table.read_text())["rows"]
    flagged = {(r["entry"], r["metric"]) for r in rows
               if any(j["verdict"] == "REGRESSION" for j in r["judgements"])}
    return proc.returncode, flagged


def test_same_code_twice_no_regression_degraded_flagged(tmp_path: Path,
                                                       fashion_mnist: None) -> None:
    first = _bench(tmp_path, "first", "off")
    second = _bench(tmp_path, "second", "off")
    code, flagged = _compare(first, second)
    assert code == 0 and not flagged, flagged

    broken = _bench(tmp_path, "broken", "on")
    code, flagged = _compare(first, broken)
    assert code == 1
    assert {entry for entry, _ in flagged} == {"vit-tiny/crushed/classify"}, flagged
    assert {metric for _, metric in flagged} <= {"top1", "top5", "f1_weighted"}, flagged
    assert "top1" in {metric for _, metric in flagged}
