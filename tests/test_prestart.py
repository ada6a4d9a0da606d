"""The scorers' one-time set-up (METEOR's JVM) starts with the session, in the background, and
the first load waits for it; runs that score no captions start nothing."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from vlmq.config import RunConfig
from vlmq.metrics import caption
from vlmq.session import BenchmarkSession
from vlmq.session.plan import Planner
from vlmq.tasks import prestart
from vlmq.tasks.base import Task


class _SlowSetUp(Task):
    name, kind, metrics = "slow-set-up", "generate", ()

    def __init__(self) -> None:
        self.done = threading.Event()

    def start_scoring(self) -> threading.Thread:
        thread = threading.Thread(target=lambda: self.done.wait(0.2) or self.done.set())
        thread.start()
        return thread

    def score(self, predictions: object, rows: object) -> None:  # type: ignore[override]
        raise NotImplementedError("only its set-up is exercised")


def test_wait_returns_once_every_started_set_up_has_finished() -> None:
    tasks = [_SlowSetUp(), _SlowSetUp()]
    prestart.start(tasks)
    prestart.wait()
    assert all(t.done.is_set() for t in tasks)
    prestart.wait()  # nothing pending: returns at once


def _session(tmp_path: Path, models: list[str], start: bool) -> BenchmarkSession:
    return BenchmarkSession(RunConfig(
        models=models, samples=4, batch_size=2, energy=False, progress=False, device="cpu",
        reports_dir=str(tmp_path / "runs")), prestart=start)


def test_the_kind_is_read_from_the_folder_without_transformers() -> None:
    plan = Planner(RunConfig(models=["llava-tiny"]), "fp32")
    assert plan.declared_kind("llava-tiny") == "generate"
    assert plan.declared_kind("vit-tiny") == "classify"
    assert plan.declared_kind("org/not-a-folder") is None  # a hub id: known after the import


@pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime: METEOR needs it")
@pytest.mark.parametrize(("models", "started"), [(["llava-tiny", "vit-tiny"], True),
                                                 (["vit-tiny"], False)])
def test_a_session_starts_meteor_only_when_it_will_score_captions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models: list[str],
        started: bool) -> None:
    calls: list[str] = []

    def start_meteor(java: str, install: Path) -> threading.Thread:
        calls.append(java)
        thread = threading.Thread(target=lambda: None)
        thread.start()
        return thread

    monkeypatch.setattr(caption, "start_meteor", start_meteor)
    _session(tmp_path, models, start=True)
    prestart.wait()  # nothing left pending for the next test's first load
    assert bool(calls) is started
    calls.clear()
    _session(tmp_path, models, start=False)  # library default: nothing in the background
    assert not calls


@pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime: METEOR needs it")
def test_a_started_meteor_scores_as_one_started_on_demand() -> None:
    refs = [["a red circle on a white ground", "a red ball"], ["two blue squares", "blue boxes"]]
    hyps = ["a red circle", "three blue squares"]
    started = caption.start_meteor(shutil.which("java"), caption.pycocoevalcap_dir())
    started.join()
    warm = caption.CaptionScorer(python_tokenizer=True).score(hyps, refs)
    caption._meteor.close()
    caption._meteor = None
    cold = caption.CaptionScorer(python_tokenizer=True).score(hyps, refs)
    assert warm.corpus["meteor"] == cold.corpus["meteor"]
    assert warm.per_sample["meteor"] == cold.per_sample["meteor"]
