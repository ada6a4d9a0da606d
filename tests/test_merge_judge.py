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


def _timed(variant: str, rounds: list[float], shard_run: str) -> TaskResult:
    r = _result(variant, [1.0, 0.0])
    r.rounds_s = rounds
    r.info.update(shard_run=shard_run, timing={})
    return r


def test_merge_times_each_variant_against_the_baseline_of_another_shard(tmp_path: Path) -> None:
    """One variant per process (ISOLATE=1): the latency ratio comes from the merge, against the
    baseline's timed rounds of its shard, on the same kind of machine only."""
    from vlmq.results.merge import _ratios_across_shards

    store = RunStore(tmp_path, "merged")
    store.write_result(_timed("fp32", [2.0, 2.1, 1.9, 2.0, 2.05], "s1"))
    store.write_result(_timed("int8", [1.0, 1.05, 0.95, 1.0, 1.02], "s2"))
    store.write_result(_timed("nf4", [1.0, 1.05, 0.95, 1.0, 1.02], "s3"))
    cpu = {"cpu_model": "AMD EPYC", "cpu_cores_usable": 2, "torch_threads": 2,
           "gpu_name": None, "torch_version": "2.13.0+cpu"}
    machines = {"s1": cpu, "s2": cpu, "s3": {**cpu, "cpu_model": "Intel Xeon"}}
    _ratios_across_shards(store, {"baseline": "fp32", "bootstrap_resamples": 500}, machines)
    int8 = store.read_result("m", "int8", "vqa")
    ratio = int8.info["timing"]["latency_ratio"]
    assert ratio["value"] == 0.5 and ratio["low"] <= 0.5 <= ratio["high"]
    assert "shard run s1" in int8.notes["latency_ratio"]
    nf4 = store.read_result("m", "nf4", "vqa")
    assert "latency_ratio" not in nf4.info["timing"]
    assert "cpu_model differ" in nf4.notes["latency_ratio"]
    assert "latency_ratio" not in store.read_result("m", "fp32", "vqa").info["timing"]
