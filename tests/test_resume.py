"""Break a run on purpose: hold it after the baseline's tasks, in the middle of the next variant,
and start a second process on the same id (refused at once); kill -9 the first, then kill -9
the resumed run while scoring and while writing the report. Each time the same id resumes; at
the end its records, results and --benchmark-json equal an uninterrupted run's, and `vlmq
compare` passes on quality."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from benchrun import ROOT, bench_cmd, bench_env

from vlmq.results.schema import KINDS
from vlmq.results.store import RunStore

SETTINGS = ("--vlmq-tasks", "vqa", "--vlmq-variants", "fp32,nf4", "--vlmq-samples", "4",
            "--vlmq-batch-size", "2", "--vlmq-max-new-tokens", "3")


def _cmd(model: str, runs: Path, run_id: str, *extra: str) -> list[str]:
    return bench_cmd("-p", "kill_at", "--vlmq-model", model, *SETTINGS,
                     "--vlmq-reports-dir", str(runs), "--vlmq-run-id", run_id, *extra)


def _run(cmd: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, env=bench_env(**env), capture_output=True, text=True,
                          timeout=600)


def _records(store: RunStore, model: str) -> dict[str, list[tuple]]:
    return {v: [(r.sample_id, r.index, r.prediction, r.scores, r.latency_s)
                for r in store.records(model, v, "vqa")] for v in ("fp32", "nf4")}


def _entries(path: Path) -> dict[tuple, dict]:
    doc = json.loads(path.read_text())
    return {(b["extra_info"]["vlmq"]["model"], b["extra_info"]["vlmq"]["variant"],
             b["extra_info"]["vlmq"]["task"]): b for b in doc["benchmarks"]}


def _quality(entry: dict) -> dict[str, float]:
    return {k: m["value"] for k, m in entry["extra_info"]["metrics"].items()
            if m["kind"] == "quality"}


def _killed_while_held(tiny_llava: str, runs: Path, holding: Path) -> list:
    """Holds a run after the baseline's tasks, mid-nf4; a second process on the live run is
    refused with one line; the held run is then killed. Returns nf4's records stored so far."""
    first = subprocess.Popen(
        _cmd(tiny_llava, runs, "broken"), cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, env=bench_env(VLMQ_TEST_KILL_AT="append:nf4",
                                                 VLMQ_TEST_ACTION="hold",
                                                 VLMQ_TEST_HOLD_FILE=str(holding)))
    deadline = time.monotonic() + 400
    while not holding.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert holding.exists(), "the first run never reached the nf4 variant"
    second = _run(_cmd(tiny_llava, runs, "broken"))
    assert second.returncode == 4, second.stdout[-2000:] + second.stderr[-2000:]
    errors = [line for line in second.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and f"in use by another process (pid {first.pid} " in errors[0]
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    mid_task = _records(RunStore(runs, "broken"), tiny_llava)["nf4"]
    assert len(mid_task) == 2  # nf4's first batch
    return mid_task


def test_killed_anywhere_resumes_to_the_uninterrupted_run(tiny_llava: str,
                                                          tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    clean_json, resumed_json = tmp_path / "clean.json", tmp_path / "resumed.json"
    clean = subprocess.Popen(_cmd(tiny_llava, runs, "clean", f"--benchmark-json={clean_json}"),
                             cwd=ROOT, env=bench_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)

    mid_task = _killed_while_held(tiny_llava, runs, tmp_path / "holding")
    store = RunStore(runs, "broken")

    # the same id resumes; kill -9 it while scoring, then while writing the report
    for point in ("score:nf4", "report"):
        extra = ("--vlmq-report", "on") if point == "report" else ()
        proc = _run(_cmd(tiny_llava, runs, "broken", *extra), VLMQ_TEST_KILL_AT=point)
        assert proc.returncode == -signal.SIGKILL, f"{point}: " + proc.stdout[-2000:]
    done = _run(_cmd(tiny_llava, runs, "broken", f"--benchmark-json={resumed_json}"))
    assert done.returncode == 0, done.stdout[-3000:]
    assert clean.wait(timeout=600) == 0, clean.stdout.read()[-3000:]

    # records: every sample once, the same predictions and scores; those stored before the
    # kill were kept (their latency is the one measured then)
    reference = RunStore(runs, "clean")
    got, want = _records(store, tiny_llava), _records(reference, tiny_llava)
    assert {v: [r[:4] for r in rs] for v, rs in got.items()} == \
        {v: [r[:4] for r in rs] for v, rs in want.items()}
    assert [(r[0], r[2], r[4]) for r in got["nf4"][:2]] == [(r[0], r[2], r[4]) for r in mid_task]
    # results and the JSON: every entry, the same quality numbers, full rounds
    assert [r.metrics["accuracy"].value for r in store.results()] == \
        [r.metrics["accuracy"].value for r in reference.results()]
    entries, expected = _entries(resumed_json), _entries(clean_json)
    assert entries.keys() == expected.keys() and len(entries) == 2
    for key, entry in entries.items():
        assert _quality(entry) == _quality(expected[key]), key
        assert entry["stats"]["rounds"] == expected[key]["stats"]["rounds"] == 2
        notes = entry["extra_info"]["notes"]
        assert "finished earlier" in notes["resumed"] and notes["measured_at"], notes
    assert "re-timed" in entries[(tiny_llava, "nf4", "vqa")]["extra_info"]["notes"]["retimed"]
    # timing, memory and energy differ between runs on a shared machine: judge quality only
    loose = [f"--threshold={k}=1000" for k in KINDS if k != "quality"]
    cmp = subprocess.run([sys.executable, "-m", "vlmq.cli", "compare", str(clean_json),
                          str(resumed_json), *loose], cwd=ROOT, capture_output=True, text=True)
    assert cmp.returncode == 0, cmp.stdout[-3000:] + cmp.stderr
