"""vlmq in someone else's repository: a throwaway project outside this one, with its own
pytest.ini, conftest.py and benchmarks/test_mine.py, run in a fresh environment where vlmq
and a separate backend package were installed with pip (no editable install, no PYTHONPATH).

The backend package adds a variant through the `vlmq.variants` entry point without touching
vlmq/: its own quantized Linear class, its own facts. The benchmark must run it, count its
layers per part and gate it like any shipped variant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FASHION = Path("/usr/share/datasets/fashion-mnist")

BACKEND = '''
"""A test backend: int8 fake quantization (per-row absmax grid) of the vision Linear layers,
each swapped for this package's own RoundedLinear."""
from dataclasses import dataclass

import torch

from vlmq.variants.base import Variant
from vlmq.variants.registry import VARIANTS
from vlmq.variants.targets import target_linears


class RoundedLinear(torch.nn.Linear):
    pass


@dataclass(frozen=True)
class Rounded(Variant):
    quantized_module_types = ("vlmq_rounded_backend.RoundedLinear",)

    def post_load(self, model, parts, settings, device_type):
        with torch.no_grad():
            for name in target_linears(model, parts, self.quantizes, settings.keep_modules):
                layer = model.get_submodule(name)
                step = layer.weight.abs().amax(dim=1, keepdim=True) / 127
                layer.weight.copy_((layer.weight / step).round() * step)
                layer.__class__ = RoundedLinear


VARIANTS.add("rounded-int8", Rounded(name="rounded-int8", bits=8, quantizes=("vision",),
                                      description="test backend: int8-rounded vision weights"))
'''

BACKEND_PYPROJECT = '''
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "vlmq-rounded-backend"
version = "0.0.1"

[project.entry-points."vlmq.variants"]
rounded = "vlmq_rounded_backend"
'''

PYTEST_INI = '''
[pytest]
testpaths = benchmarks
vlmq_model = vit-tiny
vlmq_variants = fp32,rounded-int8
vlmq_samples = 4
vlmq_batch_size = 2
vlmq_energy = off
vlmq_reports_dir = my-runs
vlmq_report = off
'''

CONFTEST = '''
def pytest_vlmq_update_extra_info(extra_info, params):
    extra_info["team_label"] = "mine/" + params["variant"]
'''

TEST_MINE = '''
def test_mine(vlmq_benchmark):
    vlmq_benchmark()
'''


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    return folder


def run(cmd: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", CI="true",
               PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, " ".join(cmd) + "\n" + proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv that sees this machine's packages (torch ...) but gets vlmq and the backend
    package from `pip install` of their folders (offline: no index, no build isolation)."""
    tmp = tmp_path_factory.mktemp("outside")
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        cwd=tmp)
    python = venv / "bin" / "python"
    backend = write(tmp / "backend", {"pyproject.toml": BACKEND_PYPROJECT,
                                      "vlmq_rounded_backend.py": BACKEND})
    for package in (ROOT, backend):  # the machine's pip, running for the venv's interpreter
        run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
             str(package)], cwd=tmp)
    return python


def test_vlmq_runs_in_an_outside_project_with_an_entry_point_backend(
        venv_python: Path, tmp_path: Path) -> None:
    if not FASHION.is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist (scripts/setup.sh installs it)")
    where = run([str(venv_python), "-c", "import vlmq; print(vlmq.__file__)"], cwd=tmp_path)
    assert where.stdout.startswith(str(venv_python.parents[1])), where.stdout  # not this repo

    project = write(tmp_path / "project", {
        "pytest.ini": PYTEST_INI, "conftest.py": CONFTEST, "benchmarks/test_mine.py": TEST_MINE})
    proc = run([str(venv_python), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                "--benchmark-json=out.json", "--vlmq-tasks", "classify"], cwd=project)
    assert "2 passed" in proc.stdout, proc.stdout[-2000:]
    # no warning caused by how the plugin imports its own modules
    assert "PytestAssertRewriteWarning" not in proc.stdout + proc.stderr, proc.stdout[-2000:]

    data = json.loads((project / "out.json").read_text())
    entries = {b["params"]["variant"]: b for b in data["benchmarks"]}
    assert set(entries) == {"fp32", "rounded-int8"}
    rounded = entries["rounded-int8"]
    assert rounded["params"] == {"model": "vit-tiny", "variant": "rounded-int8",
                                 "attn": "sdpa", "task": "classify"}
    counts = rounded["extra_info"]["quantized_linears"]
    assert counts["vision"]["quantized"] == counts["vision"]["linear"] > 0
    assert counts["head"]["quantized"] == 0
    assert rounded["extra_info"]["retention"]["top1"] > 0.9
    assert rounded["extra_info"]["team_label"] == "mine/rounded-int8"  # the conftest's hook
    run_dir = (project / data["vlmq"]["run_dir"]).resolve()
    assert run_dir.is_relative_to(project.resolve() / "my-runs")  # the ini's reports dir
    assert (run_dir / "config.yaml").is_file()
    assert (run_dir / "records" / "vit-tiny" / "rounded-int8" / "classify.jsonl").is_file()
