"""The evaluation loop on a real dataset folder: a corrupt image in the middle of a run becomes
one failed sample with the reason; every other sample is evaluated, scored and recorded."""

from __future__ import annotations

import io
from pathlib import Path

import datasets
import pytest
from PIL import Image

from vlmq.config import RunConfig
from vlmq.loading import unload
from vlmq.measure import runqueue
from vlmq.session import BenchmarkSession, Case


def _vqa_folder(root: Path, n: int, corrupt: int) -> Path:
    """A save_to_disk VQAv2-layout test split whose image `corrupt` is not an image."""
    images = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (20 * i, 80, 160)).save(buf, format="PNG")
        images.append({"bytes": b"not a png" if i == corrupt else buf.getvalue(), "path": None})
    ds = datasets.Dataset.from_dict(
        {"question_id": list(range(n)), "image_id": list(range(n)), "image": images,
         "question": ["what shape is this?"] * n, "answers": [["circle"]] * n,
         "answer_type": ["other"] * n},
        features=datasets.Features({
            "question_id": datasets.Value("int64"), "image_id": datasets.Value("int64"),
            "image": datasets.Image(), "question": datasets.Value("string"),
            "answers": datasets.Sequence(datasets.Value("string")),
            "answer_type": datasets.Value("string")}),
    )
    path = root / "vqa"
    datasets.DatasetDict({"test": ds}).save_to_disk(str(path))
    return path


def test_corrupt_image_is_one_failed_sample(tiny_llava: str, tmp_path: Path) -> None:
    folder = _vqa_folder(tmp_path, n=6, corrupt=3)
    session = BenchmarkSession(RunConfig(
        models=[tiny_llava], variants=["fp32"], tasks=["vqa"], datasets={"vqa": str(folder)},
        samples=0, batch_size=2, max_new_tokens=2, energy=False, progress=False, device="cpu",
        reports_dir=str(tmp_path / "runs")))
    case = Case(tiny_llava, "fp32")
    loaded = session.load(case)
    try:
        result = session.run(loaded, case, "vqa")
    finally:
        unload(loaded)
    records = session.store.records(tiny_llava, "fp32", "vqa")
    assert [r.index for r in records] == list(range(6))
    (bad,) = [r for r in records if r.error]
    assert bad.index == 3 and "unreadable image" in bad.error and bad.sample_id in bad.error
    good = [r for r in records if not r.error]
    assert all(r.prediction is not None and "accuracy" in r.scores for r in good)
    assert result.info["failed_samples"] == 1 and result.info["samples"] == 6
    assert len(result.per_sample["accuracy"]) == 5
    assert bad.sample_id in result.notes["failed_samples"]


@pytest.mark.energy
def test_energy_covers_the_timed_calls_and_the_first_call_apart(tiny_llava: str,
                                                                 tmp_path: Path) -> None:
    pytest.importorskip("codecarbon")
    folder = _vqa_folder(tmp_path, n=4, corrupt=-1)
    session = BenchmarkSession(RunConfig(
        models=[tiny_llava], variants=["fp32"], tasks=["vqa"], datasets={"vqa": str(folder)},
        samples=0, batch_size=2, max_new_tokens=2, energy=True, progress=False, device="cpu",
        reports_dir=str(tmp_path / "runs")))
    case = Case(tiny_llava, "fp32")
    loaded = session.load(case)
    try:
        result = session.run(loaded, case, "vqa")
    finally:
        unload(loaded)
    # two timed batches of two samples, each its own window; the warm-up measured apart
    assert "over the 2 timed model calls" in result.notes["energy"]
    assert result.metrics["energy_wh_per_sample"].value > 0
    assert result.metrics["first_call_wh"].value > 0
    assert result.info["first_call_interfered"] in (True, False)
    # what told: the first call's and the load's wall and CPU time and run-queue wait
    shots = result.info["single_shots"]
    assert shots["first_call_interfered"]["wall_s"] == result.metrics["first_call_s"].value
    assert shots["first_call_interfered"]["cpu_s"] > 0
    assert shots["load_interfered"]["wall_s"] == result.metrics["load_time_s"].value
    if runqueue.waited_s() is not None:
        assert shots["first_call_interfered"]["core_wait_s"] >= 0
        assert len(result.info["interference"]["waited"]) == 2
