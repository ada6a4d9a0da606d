"""Hostile run folders and configs (issue 22, item 6): a YAML alias bomb under any key is
refused in one line in well under a second, a run id too long for a file name is one line and
exit 4, and a run folder (or anything under it) that resolves outside the reports dir is
refused before anything is written there."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from benchrun import run_bench

from vlmq.config import MAX_RUN_ID, RunConfig
from vlmq.errors import VlmqError
from vlmq.results.store import RunStore, read_run_config


def _bomb(key: str) -> str:
    """Nine levels of nine aliases: 9**9 (387 million) leaves, under `key`."""
    lines = ['a0: &a0 ["lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + f"\n{key}: *a9\n"


@pytest.mark.parametrize("key", ["batch_size", "models", "thresholds", "samples", "no_such_key"])
def test_yaml_bomb_is_refused_in_one_line_under_a_second(tmp_path, key) -> None:
    path = tmp_path / "vlmq.yaml"
    path.write_text(_bomb(key))  # refused before any key is read
    start = time.perf_counter()
    with pytest.raises(VlmqError) as err:
        RunConfig.from_yaml(path)
    assert time.perf_counter() - start < 1.0
    message = str(err.value)
    assert "\n" not in message and len(message) < 400, message
    assert "alias" in message


def test_a_bomb_in_a_run_folders_config_is_refused_too(tmp_path) -> None:
    (tmp_path / "config.yaml").write_text(_bomb("batch_size"))
    start = time.perf_counter()
    with pytest.raises(VlmqError, match="alias"):
        read_run_config(tmp_path)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(("value", "shown_at_most"), [
    (list(range(100_000)), 200),  # a wrong type is named without repeating all of it
    ("x" * 100_000, 200),
])
def test_bad_values_are_shown_at_bounded_length(value, shown_at_most) -> None:
    with pytest.raises(VlmqError) as err:
        RunConfig().updated({"batch_size": value}, "vlmq.yaml")
    assert len(str(err.value)) < shown_at_most + 100


@pytest.mark.parametrize("run_id", ["r" * (MAX_RUN_ID + 1), "r" * 300])
def test_a_long_run_id_is_one_line(run_id) -> None:
    with pytest.raises(VlmqError, match=f"at most {MAX_RUN_ID}"):
        RunConfig(run_id=run_id)


def _link_run_folder(reports: Path, outside: Path) -> None:
    reports.mkdir()
    (reports / "r1").symlink_to(outside, target_is_directory=True)


def _link_inside_run_folder(reports: Path, outside: Path) -> None:
    (reports / "r1").mkdir(parents=True)
    (reports / "r1" / "config.yaml").write_text("samples: 4\n")
    (reports / "r1" / "results").symlink_to(outside, target_is_directory=True)


@pytest.mark.parametrize("make", [_link_run_folder, _link_inside_run_folder])
def test_a_run_folder_resolving_outside_the_reports_dir_is_refused(tmp_path, make) -> None:
    reports, outside = tmp_path / "reports", tmp_path / "elsewhere"
    outside.mkdir()
    make(reports, outside)
    with pytest.raises(VlmqError, match="outside the reports dir"):
        RunStore(reports, "r1")
    assert list(outside.iterdir()) == []


CASES = {
    "run id of 300 characters": (lambda tmp: ["--vlmq-run-id", "r" * 300], "at most 128"),
    "run folder is a link outside": (lambda tmp: ["--vlmq-run-id", "r1"], "outside the reports"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_benchmark_exits_4_with_one_line(tmp_path, case) -> None:
    reports, outside = tmp_path / "reports", tmp_path / "elsewhere"
    outside.mkdir()
    _link_run_folder(reports, outside)
    args, said = CASES[case]
    proc = run_bench("--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32", "--vlmq-samples",
                     "2", "--vlmq-reports-dir", str(reports), *args(tmp_path))
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and said in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in reports.iterdir()) == ["r1"]
