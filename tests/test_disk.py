"""Disk and files (issue 22, item 3): every file is written whole or not at all, a full disk is
one line naming the path and what was being written, temporary files are removed on failure
and swept on resume, and the records already written stay usable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from benchrun import ROOT, bench_cmd, bench_env, run_bench
from report_fixtures import write_run

from vlmq.report.build import build_report
from vlmq.results.atomic import WriteError, sweep_tmp, write_atomic
from vlmq.results.store import RunStore


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB filesystem (tmpfs), or a skip with the reason where mounting is not allowed."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a 2 MiB tmpfs here: {proc.stderr.strip() or proc.returncode}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def _tmp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize(("existing", "size"), [(None, 3 << 20), (b"old report", 3 << 20)])
def test_a_full_disk_is_one_line_and_leaves_the_old_file(small_disk, existing, size) -> None:
    target = small_disk / "run" / "report.html"
    if existing is not None:
        target.parent.mkdir()
        target.write_bytes(existing)
    with pytest.raises(WriteError) as err:
        write_atomic(target, "x" * size, "the HTML report")
    message = str(err.value)
    assert "\n" not in message
    assert message == f"could not write the HTML report to {target}: No space left on device"
    assert (target.read_bytes() == existing) if existing else not target.exists()
    assert _tmp_files(small_disk) == []


def test_sweep_removes_what_a_dead_writer_left(tmp_path) -> None:
    store = write_run(tmp_path, 0, "r")
    ended = subprocess.Popen(["true"])
    ended.wait()
    dead = ended.pid  # a writer that is gone
    left = [store.root / f".report.html.{dead}.tmp", store.root / "results" / f".x.{dead}.tmp"]
    for p in left:
        p.write_text("half")
    live = store.root / f".summary.json.{os.getppid()}.tmp"  # a live writer's file stays
    live.write_text("being written")
    assert sorted(sweep_tmp(store.root)) == sorted(left)
    assert live.exists()


def test_report_on_a_full_disk_then_a_resume_on_a_bigger_one(tmp_path, small_disk) -> None:
    """The report of a stored run on a 2 MiB disk: one line naming the path, report.html
    complete or absent, and no .tmp file once the run folder is reopened elsewhere."""
    src = write_run(tmp_path / "big", 0, "r")
    shutil.copytree(src.root, small_disk / "r")
    with pytest.raises(WriteError, match=f"could not write .* to {small_disk}/r/"):
        build_report(small_disk / "r")
    html = small_disk / "r" / "report.html"
    assert not html.exists() or html.read_text().rstrip().endswith("</html>")
    assert _tmp_files(small_disk) == []
    store = RunStore(small_disk, "r")
    assert len(store.results()) == len(src.results())  # the records and results stand


@pytest.mark.slow
def test_benchmark_on_a_full_disk_says_one_line(tmp_path, small_disk, fashion_mnist) -> None:
    reports = small_disk / "runs"
    args = ("--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32,int8", "--vlmq-samples", "8",
            "--vlmq-run-id", "full", "--vlmq-report", "on")
    proc = subprocess.run(bench_cmd(*args, "--vlmq-reports-dir", str(reports)), cwd=ROOT,
                          env=bench_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600)
    lines = proc.stdout.rstrip().splitlines()
    # the last line, after pytest's own summary, names the path and what was being written
    assert lines[-1].startswith("vlmq: error: ") and str(reports / "full") in lines[-1], \
        proc.stdout[-3000:]
    assert "No space left on device" in lines[-1]
    assert re.search(r"(passed|failed|error).* in [\d.]+s", lines[-2]), lines[-2]
    assert "Traceback" not in proc.stdout
    html = reports / "full" / "report.html"
    assert not html.exists() or html.read_text().rstrip().endswith("</html>")
    bigger = tmp_path / "bigger"
    shutil.copytree(reports, bigger)
    proc = run_bench(*args, "--vlmq-reports-dir", str(bigger))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert _tmp_files(bigger) == []
    assert (bigger / "full" / "report.html").read_text().rstrip().endswith("</html>")
