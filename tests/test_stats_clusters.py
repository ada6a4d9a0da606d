"""Clustered retention intervals: samples that share an image are resampled together."""

from __future__ import annotations

import numpy as np

from vlmq.metrics.base import MetricInfo
from vlmq.results.schema import TaskResult
from vlmq.stats.bootstrap import BootstrapSettings, paired_retention
from vlmq.stats.clusters import cluster_codes, cluster_weights, clustered
from vlmq.stats.corpus import mean_values
from vlmq.stats.retention import result_gates

TRUE_RETENTION = 0.85  # 30% of images lose half their correct answers: 1 - 0.3 * 0.5


def simulate(rng: np.random.Generator, groups: int = 40, per: int = 10
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired 0/1 scores of `groups` images x `per` questions: image difficulty shared by the
    questions of an image, and a variant that fails on some images much more than on others."""
    codes = np.repeat(np.arange(groups), per)
    difficulty = rng.normal(0, 1, groups)[codes]
    base = (difficulty + rng.normal(0, 0.7, codes.size) > 0).astype(float)
    hard = (rng.random(groups) < 0.3)[codes]
    variant = base * ~(hard & (rng.random(codes.size) < 0.5))
    return variant, base, codes


def coverage(reps: int, by_cluster: bool) -> float:
    rng = np.random.default_rng(1)
    hits = 0
    for i in range(reps):
        v, b, codes = simulate(rng)
        iv = paired_retention(lambda w, v=v, b=b: (mean_values(v, w), mean_values(b, w)),
                              v.size, True, BootstrapSettings(0.95, 300, i),
                              clusters=codes if by_cluster else None)
        hits += iv.low <= TRUE_RETENTION <= iv.high
    return hits / reps


def test_clustered_bootstrap_covers_where_the_sample_bootstrap_falls_short() -> None:
    # measured (200 simulated runs of 40 images x 10 questions, 95% intervals):
    # clustered 95.0%, sample bootstrap 61.5%
    assert coverage(200, by_cluster=True) >= 0.93
    assert coverage(200, by_cluster=False) < 0.85


def test_cluster_weights_draw_whole_clusters() -> None:
    codes = cluster_codes(["a", "a", "b", "c", "c", "c"])
    assert codes.tolist() == [0, 0, 1, 2, 2, 2]
    w = cluster_weights(codes, 50, 0)
    assert w.shape == (50, 6)
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 3] == w[:, 5]).all()
    # G clusters drawn per row: the multiplicities of one member of each cluster sum to G
    assert (w[:, [0, 2, 3]].sum(axis=1) == 3).all()
    assert not clustered(cluster_codes([1, 2, 3]), 3) and clustered(codes, 6)


def _result(variant: str, scores: np.ndarray) -> TaskResult:
    r = TaskResult(info={"variant": variant}, per_sample={"accuracy": scores.tolist()},
                   sample_stats={"index": list(range(scores.size))})
    r.add("accuracy", float(scores.mean()), "", True, "quality")
    return r


def test_gates_record_the_method_and_cluster_count_and_widen() -> None:
    v, b, codes = simulate(np.random.default_rng(3))
    info = MetricInfo("accuracy", higher_is_better=True, aggregate="mean")
    args = (_result("int4", v), _result("fp32", b), [info], {"accuracy": 0.8},
            BootstrapSettings(0.95, 500, 0))
    plain = result_gates(*args)["accuracy"]
    by_image = result_gates(*args, clusters=dict(enumerate(codes.tolist())),
                            cluster_key="image_id")["accuracy"]
    assert plain["clusters"] is None and by_image["clusters"] == 40
    assert by_image["method"].endswith("clustered by image_id (40 clusters)")
    assert by_image["high"] - by_image["low"] > plain["high"] - plain["low"]
    assert by_image["min_detectable_drop"] > plain["min_detectable_drop"]
    # the session writes the groups into the result (sample_stats["group"]): same intervals
    grouped = _result("int4", v)
    grouped.sample_stats["group"] = [f"img{c}" for c in codes]
    from_result = result_gates(grouped, *args[1:])["accuracy"]
    assert from_result["clusters"] == 40 and from_result["method"].endswith(
        "clustered by image (40 clusters)")
    assert (from_result["low"], from_result["high"]) == (by_image["low"], by_image["high"])
