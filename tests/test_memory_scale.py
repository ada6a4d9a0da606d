"""Memory that belongs to the model does not grow with the dataset: inputs stream through a
bounded pipeline, so at most a few batches of decoded images are resident at once.

The fast tests check the bound itself (the pipeline never holds more than `prefetch + 2`
batches, and hands every slot over in order); the `slow` one is the issue's check on a folder of
2,000 JPEGs of 1024x768: vit-tiny fp32 at 50 and at 2,000 samples.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlmq.config import RunConfig
from vlmq.inputs import InputPipeline, Prepared
from vlmq.loading import unload
from vlmq.session import BenchmarkSession, Case


class _Counted:
    """make() for the pipeline that counts the batches alive (made, not yet released)."""

    def __init__(self, slow_s: float = 0.0) -> None:
        self.alive = 0
        self.most = 0
        self.slow_s = slow_s
        self.lock = threading.Lock()

    def __call__(self, slot: list[int]) -> Prepared:
        with self.lock:
            self.alive += 1
            self.most = max(self.most, self.alive)
        time.sleep(self.slow_s)
        return Prepared(list(slot), [{}] * len(slot), [""] * len(slot), object(), 0.0)

    def release(self) -> None:
        with self.lock:
            self.alive -= 1


@pytest.mark.parametrize("prefetch", [0, 1, 3])
def test_pipeline_holds_a_bounded_number_of_batches(prefetch: int) -> None:
    make = _Counted()
    plan = [[i, i + 1] for i in range(0, 200, 2)]
    got = []
    with InputPipeline(make, plan, prefetch) as pipeline:
        while (batch := pipeline.next()) is not None:
            time.sleep(0.001)  # a slow consumer: the producer would run ahead if unbounded
            got.append(batch.indices)
            make.release()
    assert got == plan
    assert make.most <= prefetch + 2


def test_pipeline_reports_the_wait_and_raises_producer_errors() -> None:
    make = _Counted(slow_s=0.05)
    with InputPipeline(make, [[0], [1]], prefetch=1) as pipeline:
        assert pipeline.next().wait_s >= 0.03  # the model waited for the first batch

    def broken(slot: list[int]) -> Prepared:
        raise RuntimeError("processor failed")

    with InputPipeline(broken, [[0]], prefetch=1) as pipeline, \
            pytest.raises(RuntimeError, match="processor failed"):
        pipeline.next()


def _jpeg_folder(root: Path, n: int, classes: int = 10) -> Path:
    """n JPEGs of 1024x768 (smooth gradients with a little noise, ~100 kB each), one folder
    per class: an imagefolder split `test`."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:768, 0:1024]
    for c in range(classes):
        (root / "test" / str(c)).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        base = (x * (i % 7 + 1) // 8 + y * (i % 5 + 1) // 6) % 256
        pixels = np.stack([base, (base + 85 * (i % 3)) % 256, 255 - base], axis=-1)
        pixels = np.clip(pixels + rng.integers(-8, 8, pixels.shape), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / "test" / str(i % classes) / f"{i:05d}.jpg",
                                     quality=85)
    return root


def _memory(folder: Path, samples: int, reports: Path) -> tuple[float, float]:
    session = BenchmarkSession(RunConfig(
        models=["vit-tiny"], variants=["fp32"], tasks=["classify"], device="cpu",
        datasets={"classify": str(folder)}, samples=samples, batch_size=8, energy=False,
        progress=False, reports_dir=str(reports)))
    case = Case("vit-tiny", "fp32")
    loaded = session.load(case)
    try:
        result = session.run(loaded, case, "classify")
    finally:
        unload(loaded)
    assert result.info["samples"] == samples
    return (result.metrics["model_peak_memory_mib"].value,
            result.metrics["process_peak_rss_mib"].value)


def _memory_in_new_process(folder: Path, samples: int, reports: Path) -> tuple[float, float]:
    """`_memory` in a fresh interpreter, as a user's run would be: the first task of a process
    also holds the process's one-time allocations (library caches, first-call buffers), so two
    sizes measured one after the other in one process would not compare like with like."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_memory_scale as t; "
            "from pathlib import Path; "
            "print(*t._memory(Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])))")
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(folder),
                           str(samples), str(reports)], capture_output=True, text=True,
                          cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr[-3000:]
    model, process = done.stdout.split()[-2:]
    return float(model), float(process)


@pytest.mark.slow
def test_model_memory_does_not_grow_with_the_dataset(tmp_path: Path) -> None:
    folder = _jpeg_folder(tmp_path / "jpegs", 2000)
    model_50, process_50 = _memory_in_new_process(folder, 50, tmp_path / "runs")
    model_2000, process_2000 = _memory_in_new_process(folder, 2000, tmp_path / "runs")
    print(f"model peak MiB: {model_50:.1f} at 50, {model_2000:.1f} at 2000; "
          f"process peak RSS MiB: {process_50:.1f} at 50, {process_2000:.1f} at 2000")
    assert abs(model_2000 - model_50) / model_50 < 0.10
    assert abs(process_2000 - process_50) / process_50 < 0.25
