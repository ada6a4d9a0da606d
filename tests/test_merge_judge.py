"""`vlmq merge` judges with the session's judge (`vlmq.results.gates.judge_against`) and the
run's own bootstrap settings, where a shard's baseline scored differently."""

from __future__ import annotations

from pathlib import Path

from vlmq.results.gates import judge_against, passed
from vlmq.results.merge import _rebase_retention
from vlmq.results.schema import TaskResult
from vlmq.results.store import RunStore
from vlmq.stats.bootstrap import BootstrapSettings
from vlmq.tasks import TASKS


def _result(variant: str, scores: list[float], baseline_score: float | None = None
            ) -> TaskResult:
    r = TaskResult(info={"model": "m", "variant": variant, "base_variant": variant,
                         "task": "vqa", "baseline": "fp32", "bits": 8})
    r.add("accuracy", sum(scores) / len(scores), "", True, "quality")
    r.per_sample = {"accuracy": scores}
    r.sample_stats = {"index": list(range(len(scores)))}
    if baseline_score is not None:
        r.retention["accuracy"] = 1.0
        r.thresholds["accuracy"] = 0.97
        r.info["baseline_scores"] = {"accuracy": baseline_score}
    return r


def test_merge_rejudges_against_the_merged_baseline(tmp_path: Path) -> None:
    base_scores = [1.0] * 45 + [0.0] * 15  # enough paired samples for a verdict
    variant_scores = [1.0] * 30 + [0.0] * 30
    store = RunStore(tmp_path, "merged")
    store.write_result(_result("fp32", base_scores))
    store.write_result(_result("int8", variant_scores, baseline_score=0.5))  # another shard's
    config = {"baseline": "fp32", "confidence": 0.9, "bootstrap_resamples": 500, "seed": 3}
    _rebase_retention(store, config)
    merged = store.read_result("m", "int8", "vqa")

    expected = _result("int8", variant_scores)
    expected.thresholds["accuracy"] = 0.97
    judge_against(expected, _result("fp32", base_scores), TASKS.get("vqa").metrics,
                  BootstrapSettings(0.9, 500, 3))
    assert merged.retention == expected.retention == {"accuracy": 30 / 45}
    assert merged.gates == expected.gates and merged.gates["accuracy"]["confidence"] == 0.9
    assert merged.info["baseline_scores"] == {"accuracy": 0.75}
    assert "recomputed by vlmq merge" in merged.notes["retention"]
    assert passed(merged) is False
