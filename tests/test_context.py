"""Prompts beyond the model's context (issue 22, item 1): a 10,000-character question for a
256-position tiny LLaVA fails with the reason before its batch runs (or, with long_prompts
truncate, is cut to fit and marked); the other samples are evaluated and scored."""

from __future__ import annotations

import io
import time
from pathlib import Path

import datasets
import pytest
from benchrun import run_bench
from PIL import Image

from vlmq.config import RunConfig
from vlmq.context import OVER_CONTEXT
from vlmq.evaluate import evaluate
from vlmq.loading import unload
from vlmq.session import BenchmarkSession, Case

LONG = 2  # the sample whose question is 10,000 characters


def _vqa_folder(root: Path, n: int) -> Path:
    images = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), (20 * i, 80, 160)).save(buf, format="PNG")
        images.append({"bytes": buf.getvalue(), "path": None})
    questions = ["what shape is this?"] * n
    questions[LONG] = ("what shape is this? " * 500)[:10_000]
    ds = datasets.Dataset.from_dict(
        {"question_id": list(range(n)), "image_id": list(range(n)), "image": images,
         "question": questions, "answers": [["circle"]] * n, "answer_type": ["other"] * n},
        features=datasets.Features({
            "question_id": datasets.Value("int64"), "image_id": datasets.Value("int64"),
            "image": datasets.Image(), "question": datasets.Value("string"),
            "answers": datasets.Sequence(datasets.Value("string")),
            "answer_type": datasets.Value("string")}),
    )
    path = root / "vqa"
    datasets.DatasetDict({"test": ds}).save_to_disk(str(path))
    return path


@pytest.fixture
def session(tiny_llava: str, tmp_path: Path) -> BenchmarkSession:
    return BenchmarkSession(RunConfig(
        models=[tiny_llava], variants=["fp32"], tasks=["vqa"],
        datasets={"vqa": str(_vqa_folder(tmp_path, 6))}, samples=0, batch_size=2,
        max_new_tokens=4, energy=False, progress=False, device="cpu",
        reports_dir=str(tmp_path / "runs")))


@pytest.mark.parametrize("mode", ["fail", "truncate"])
def test_a_prompt_over_the_context_never_runs_silently(session, tiny_llava, mode) -> None:
    loaded = session.load(Case(tiny_llava, "fp32"))
    try:
        assert loaded.adapter.context_positions(loaded.model) == 256
        start = time.perf_counter()
        outcome = evaluate(loaded, session.task("vqa"), session.data("vqa"), batch_size=2,
                           max_new_tokens=4, show_progress=False, long_prompts=mode)
        seconds = time.perf_counter() - start
    finally:
        unload(loaded)
    assert seconds < 30, seconds
    long = outcome.records[LONG]
    others = [r for r in outcome.records if r.index != LONG]
    assert all(r.error is None and r.prediction is not None for r in others)
    if mode == "fail":
        assert long.error.startswith(f"{OVER_CONTEXT}: ") and "> 256 positions" in long.error
        assert long.prediction is None and long.truncated_tokens is None
        assert outcome.over_context == [long.sample_id] and outcome.failed == [long.sample_id]
    else:
        assert long.error is None and long.prediction is not None
        assert long.truncated_tokens and long.truncated_tokens > 1000
        assert len(long.prompt) < 10_000 and outcome.over_context == []


def test_the_run_counts_it(session, tiny_llava) -> None:
    case = Case(tiny_llava, "fp32")
    loaded = session.load(case)
    try:
        result = session.run(loaded, case, "vqa")
    finally:
        unload(loaded)
    assert result.info["failed_samples"] == 1 and len(result.per_sample["accuracy"]) == 5
    assert result.info["over_context"] == 1
    assert result.notes["over_context"].startswith("1 sample(s) failed: prompt over the model")


def test_the_benchmark_summary_names_the_count(tiny_llava, tmp_path) -> None:
    folder = _vqa_folder(tmp_path, 6)
    start = time.perf_counter()
    proc = run_bench("--vlmq-model", tiny_llava, "--vlmq-tasks", "vqa", "--vlmq-variants",
                     "fp32", "--vlmq-dataset", f"vqa={folder}", "--vlmq-samples", "0",
                     "--vlmq-batch-size", "2", "--vlmq-max-new-tokens", "4",
                     "--vlmq-reports-dir", str(tmp_path / "runs"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert time.perf_counter() - start < 60
    summary = proc.stdout[proc.stdout.index("samples over the model's context"):]
    assert "1 sample(s) failed: prompt over the model's context" in summary, proc.stdout[-2000:]
