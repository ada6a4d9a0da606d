"""How a benchmark run ends (issue 22, item 7): SIGTERM leaves the same summary as Ctrl-C,
`--benchmark-disable` says that no --benchmark-json is written, and a resumed run reuses a
finished task without loading its model."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time

import pytest
from benchrun import ROOT, bench_cmd, bench_env, run_bench

# pytest's last line (-q: "1 passed, 2 deselected in 9.1s", "no tests ran in 5.0s")
SUMMARY = re.compile(r"^\S.* in [\d.]+s$")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_ends_the_run_with_pytest_summary(tmp_path, fashion_mnist, sig) -> None:
    reports = tmp_path / "runs"
    cmd = bench_cmd("--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32,int8",
                    "--vlmq-samples", "256", "--vlmq-batch-size", "1",
                    "--vlmq-reports-dir", str(reports))
    # a background job of a non-interactive shell (a CI runner's) inherits SIGINT ignored, and
    # Python then installs no KeyboardInterrupt handler: the run starts as a terminal's would
    proc = subprocess.Popen(cmd, cwd=ROOT, env=bench_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while not list(reports.glob("*/records/*/*/*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.5)  # interrupted mid-task, once records are being written
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=500)  # a loaded machine tears down slowly
    assert proc.returncode == 2, out[-3000:]  # pytest's "interrupted"
    assert "KeyboardInterrupt" in out and SUMMARY.search(out.rstrip().splitlines()[-1]), \
        out[-3000:]


@pytest.mark.parametrize(("args", "noted"), [
    (["--benchmark-disable"], True),
    ([], False),
])
def test_benchmark_disable_says_no_json_is_written(tmp_path, fashion_mnist, args, noted) -> None:
    out = tmp_path / "out.json"
    proc = run_bench("--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32", "--vlmq-samples",
                     "2", "--vlmq-reports-dir", str(tmp_path / "runs"), f"--benchmark-json={out}",
                     *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    said = "--benchmark-disable is set, so pytest-benchmark writes no --benchmark-json"
    assert (said in proc.stdout) == noted
    assert out.is_file() != noted


def test_a_finished_task_is_reused_without_loading_its_model(tmp_path, tiny_llava) -> None:
    model = tmp_path / "model"
    shutil.copytree(tiny_llava, model)
    args = ("--vlmq-model", str(model), "--vlmq-tasks", "vqa", "--vlmq-variants", "fp32",
            "--vlmq-samples", "4", "--vlmq-batch-size", "2", "--vlmq-max-new-tokens", "3",
            "--vlmq-reports-dir", str(tmp_path / "runs"), "--vlmq-run-id", "r")
    first = run_bench(*args)
    assert first.returncode == 0 and "1 passed" in first.stdout, first.stdout[-3000:]
    for weights in model.glob("*.safetensors"):  # loading the model now would fail
        weights.unlink()
    again = run_bench(*args)
    assert again.returncode == 0 and "1 passed" in again.stdout, again.stdout[-3000:]
    assert "skipped" not in again.stdout


def test_held_loads_on_first_use_and_once() -> None:
    from vlmq.errors import UnavailableError
    from vlmq.session import Case, Held

    loads = []
    held = Held(Case("m", "fp32"), load=lambda: loads.append(1) or object())
    assert loads == []  # a case whose tasks are all stored never loads
    first = held.loaded
    assert held.loaded is first and loads == [1]

    def unavailable() -> None:
        loads.append(2)
        raise UnavailableError("int8 needs bitsandbytes")

    gone = Held(Case("m", "int8"), load=unavailable)
    for _ in range(3):
        with pytest.raises(UnavailableError):
            gone.loaded  # noqa: B018
    assert loads.count(2) == 1  # not tried again for every task
