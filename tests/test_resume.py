"""`kill -9` in the middle of a variant, then the same run id again: every sample is computed
exactly once and the records equal those of a run that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from benchrun import ROOT, bench_cmd, bench_env

from vlmq.results.store import safe_name


def _cmd(model: str, runs: Path, run_id: str) -> list[str]:
    return bench_cmd("--benchmark-disable", "--vlmq-model", model, "--vlmq-tasks", "vqa",
                     "--vlmq-variants", "fp32,nf4", "--vlmq-samples", "16",
                     "--vlmq-batch-size", "1", "--vlmq-max-new-tokens", "4",
                     "--vlmq-reports-dir", str(runs), "--vlmq-run-id", run_id)


ENV = bench_env()


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _comparable(recs: list[dict]) -> list[tuple]:
    return [(r["sample_id"], r["index"], r["prediction"], r["scores"].get("accuracy"))
            for r in recs]


def test_killed_run_resumes_without_recomputing(tiny_llava: str, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    # records/<model>/<variant>/<task>.jsonl; the model folder name is its path made safe
    model_dir = safe_name(tiny_llava)
    nf4 = runs / "killed" / "records" / model_dir / "nf4" / "vqa.jsonl"
    proc = subprocess.Popen(_cmd(tiny_llava, runs, "killed"), cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if nf4.is_file() and len(nf4.read_text().splitlines()) >= 5:
            os.kill(proc.pid, signal.SIGKILL)  # in the middle of the nf4 variant
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    before = _records(nf4)
    assert 5 <= len(before) < 16

    done = subprocess.run(_cmd(tiny_llava, runs, "killed"), cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    after = _records(nf4)
    assert sorted(r["sample_id"] for r in after) == sorted({r["sample_id"] for r in after})
    assert len(after) == 16
    # samples finished before the kill were reused, not recomputed: same latency recorded
    kept = {r["sample_id"]: r["latency_s"] for r in before}
    assert all(r["latency_s"] == kept[r["sample_id"]] for r in after if r["sample_id"] in kept)

    clean = subprocess.run(_cmd(tiny_llava, runs, "clean"), cwd=ROOT, env=ENV,
                           capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stdout[-3000:]
    reference = _records(runs / "clean" / "records" / model_dir / "nf4" / "vqa.jsonl")
    assert _comparable(after) == _comparable(reference)

    # a finished run is not recomputed: its records are untouched by a third invocation
    stamp = nf4.stat().st_mtime_ns
    again = subprocess.run(_cmd(tiny_llava, runs, "killed"), cwd=ROOT, env=ENV,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and nf4.stat().st_mtime_ns == stamp
