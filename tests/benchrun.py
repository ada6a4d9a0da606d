"""Run the benchmark suite in a subprocess, as a user runs it, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "tests" / "plugins"  # test-only pytest plugins (-p crushed_variant)


def bench_cmd(*args: str, target: str = "benchmarks/test_benchmark.py") -> list[str]:
    """pytest on `target` with energy and the end-of-run report off (they cost seconds), on the
    CPU: the expectations (fp32 baseline, CPU-only variants) are the CPU's, and `auto` would
    pick CUDA on a GPU machine. A later `--vlmq-device` in `args` wins."""
    return [sys.executable, "-m", "pytest", target, "-q", "-rs", "-p", "no:cacheprovider",
            "--vlmq-energy", "off", "--vlmq-report", "off", "--vlmq-device", "cpu", *args]


def bench_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(PLUGINS), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "CI": "true",
            "PYTHONPATH": path, **extra}


def run_bench(*args: str, target: str = "benchmarks/test_benchmark.py",
              **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(bench_cmd(*args, target=target), cwd=ROOT, env=bench_env(**env),
                          capture_output=True, text=True, timeout=600)
