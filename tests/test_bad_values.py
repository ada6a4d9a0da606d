"""Every bad value is refused before any work: pytest's usage error (exit 4) with one line that
names the setting, the value and what is expected, before a run folder is created or a model
loaded. The benchmarks run in this process (pytester), so each case costs no torch import."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from benchrun import ROOT

from vlmq.config import RunConfig

RUN_ID = "kept"


@pytest.fixture(scope="module", autouse=True)
def _imported_once() -> None:
    """pytester drops the modules an in-process run imported; `datasets` cannot be imported
    twice in one process (pyarrow keeps its types), so import what the runs need up front."""
    import transformers  # noqa: F401

    import vlmq.data.embedded  # noqa: F401
    import vlmq.session  # noqa: F401
    import vlmq.variants  # noqa: F401


def _existing_run(reports: Path, **changes: object) -> Path:
    """A run folder as a CPU run with the test's settings would have left it."""
    cfg = RunConfig(models=["vit-tiny"], variants=["fp32"], samples=4, batch_size=2,
                    energy=False, report=False, progress=False, device="cpu", baseline="fp32",
                    run_id=RUN_ID, reports_dir=str(reports))
    root = reports / RUN_ID
    root.mkdir(parents=True)
    RunConfig(**{**cfg.to_dict(), **changes}).to_yaml(root / "config.yaml")
    return root


def _no_columns(tmp: Path) -> str:
    path = tmp / "wrong.parquet"
    pd.DataFrame({"picture": ["a.png"], "category": [1]}).to_parquet(path)
    return str(path)


# (options, expected line); {tmp} is the test's folder
CASES = [
    (["--vlmq-batch-size", "0"],
     "--vlmq-batch-size: '0' is out of range (expected a whole number >= 1)"),
    (["--vlmq-samples", "-1"],
     "--vlmq-samples: '-1' is out of range (expected a whole number >= 0"),
    (["--vlmq-threshold", "fp16=nan"],
     "--vlmq-threshold fp16: 'nan' is out of range (expected a retention ratio in [0, 1]"),
    (["--vlmq-threshold", "fp16=1.5"],
     "--vlmq-threshold fp16: '1.5' is out of range (expected a retention ratio in [0, 1]"),
    (["--vlmq-threshold", "int8=abc"],
     "--vlmq-threshold int8: 'abc' is not a number (expected a retention ratio in [0, 1]"),
    (["--vlmq-device", "gpu"], "--vlmq-device: 'gpu' is not allowed (expected cpu, cuda"),
    (["--vlmq-energy", "maybe"], "--vlmq-energy: 'maybe' is not on/off (expected on or off)"),
    (["--vlmq-variants", "fp32,nff4"], "unknown variant 'nff4'. Did you mean 'nf4'"),
    (["--vlmq-model", "vit-tinyy"], "model 'vit-tinyy' is not an embedded model"),
    (["--vlmq-tasks", "clasify"], "unknown task 'clasify'. Did you mean 'classify'"),
    (["--vlmq-dataset", "classify={tmp}/nope"], "dataset '{tmp}/nope': no such file"),
    (["--vlmq-dataset", "classify={columns}"],
     "dataset '{columns}' of task 'classify': dataset: its columns (picture, category) match "
     "no classify layout"),
    (["--vlmq-reports-dir", "{tmp}/file/runs"],
     "--vlmq-reports-dir '{tmp}/file/runs' cannot be created: '{tmp}/file' is not a folder"),
    (["--vlmq-run-id", RUN_ID, "--vlmq-python-tokenizer", "on", "resume"],
     f"run '{RUN_ID}' was started with other settings (python_tokenizer: False -> True)"),
    (["--vlmq-run-id", RUN_ID, "corrupt"], f"{RUN_ID}/config.yaml is unreadable"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_value_is_a_usage_error(pytester: pytest.Pytester, tmp_path: Path, args: list[str],
                                    message: str) -> None:
    reports = tmp_path / "runs"
    (tmp_path / "file").write_text("not a folder")
    subs = {"tmp": str(tmp_path), "columns": _no_columns(tmp_path) if "{columns}" in str(args)
            else ""}
    args = [a.format(**subs) for a in args]
    if args[-1] in ("resume", "corrupt"):
        root = _existing_run(reports)
        if args.pop() == "corrupt":
            (root / "config.yaml").write_text("samples: [4\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = pytester.runpytest_inprocess(
        str(ROOT / "benchmarks" / "test_benchmark.py"), "-p", "no:cacheprovider",
        f"--rootdir={ROOT}", "--vlmq-model", "vit-tiny", "--vlmq-variants", "fp32",
        "--vlmq-samples", "4", "--vlmq-batch-size", "2", "--vlmq-device", "cpu",
        "--vlmq-energy", "off", "--vlmq-report", "off", "--vlmq-progress", "off",
        "--vlmq-reports-dir", str(reports), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines[-20:]
    errors = [line for line in result.errlines if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("ERROR: "), result.errlines
    assert message.format(**subs) in errors[0]
    # nothing was written: no run folder, no lock, the resumed folder untouched
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
