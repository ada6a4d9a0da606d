"""Files every tool reads: pytest-benchmark compare groups the main job's JSON by any param."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vlmq.results.benchjson import PARAM_KEYS, complete_params

MAIN_JOB = Path(__file__).parents[1] / "reports/cpu/aa-2026-11-23/A1.json.gz"
COMPARE = shutil.which("pytest-benchmark") or shutil.which("py.test-benchmark")


def test_every_entry_gets_every_param() -> None:
    benches = [{"params": None}, {"params": {"vlmq_sweep_model": "vit-tiny"}},
               {"params": {"model": "m", "variant": "int8", "attn": "sdpa", "task": "vqa"}}]
    complete_params(benches)
    assert benches[0]["params"] == dict.fromkeys(PARAM_KEYS, "-")
    assert benches[1]["params"]["model"] == "vit-tiny" and benches[1]["params"]["task"] == "-"
    assert benches[2]["params"]["variant"] == "int8"


@pytest.mark.skipif(COMPARE is None, reason="pytest-benchmark's compare command is not on PATH")
@pytest.mark.parametrize("key", ["variant", "task"])
def test_pytest_benchmark_compare_groups_the_main_job_json(tmp_path, key) -> None:
    doc = json.loads(gzip.decompress(MAIN_JOB.read_bytes()))
    before = tmp_path / "before.json"
    before.write_text(json.dumps(doc))
    group = [COMPARE, "compare", f"--group-by=param:{key}"]
    # the main job's JSON as written before (overhead and sweep entries without these params)
    assert subprocess.run([*group, str(before)], capture_output=True).returncode == 1
    complete_params(doc["benchmarks"])
    after = tmp_path / "after.json"
    after.write_text(json.dumps(doc))
    done = subprocess.run([*group, str(after)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-500:]
    assert f"{key}=" in done.stdout
