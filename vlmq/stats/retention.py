"""Gates of one variant's result against the baseline's, from the per-sample data both keep.

The two results are paired on the samples both scored (`sample_stats["index"]`, the position in
the evaluated subset; a sample that failed on either side is left out of the interval).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vlmq.metrics.base import MetricInfo, retention
from vlmq.stats.bootstrap import (
    METHOD,
    BootstrapSettings,
    PairEstimator,
    RetentionInterval,
    paired_retention,
)
from vlmq.stats.clusters import cluster_codes
from vlmq.stats.corpus import bleu_stats, bleu_values, cider_tables, mean_values
from vlmq.stats.gates import agreement_interval, gate_record

if TYPE_CHECKING:  # the record's type only: stats sits below results
    from vlmq.results.schema import TaskResult


def paired_positions(variant: TaskResult, baseline: TaskResult) -> tuple[list[int], list[int]]:
    """Positions in each result's per-sample lists of the samples both scored, in subset order."""
    iv, ib = variant.sample_stats.get("index"), baseline.sample_stats.get("index")
    if iv is None or ib is None:  # results written before sample_stats: aligned if same length
        n = len(next(iter(variant.per_sample.values()), []))
        m = len(next(iter(baseline.per_sample.values()), []))
        return (list(range(n)), list(range(m))) if n == m else ([], [])
    where_b = {idx: k for k, idx in enumerate(ib)}
    pairs = [(k, where_b[idx]) for k, idx in enumerate(iv) if idx in where_b]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _estimator(info: MetricInfo, variant: TaskResult, baseline: TaskResult, pv: list[int],
               pb: list[int]) -> tuple[PairEstimator, str] | None:
    """The metric recomputed on resamples, and the method's name; None without the data."""
    agg = info.aggregate
    if agg == "cider" or agg.startswith("bleu-"):
        tv, tb = variant.sample_stats, baseline.sample_stats
        if "hyp_tokens" in tv and "hyp_tokens" in tb:
            hv = [tv["hyp_tokens"][k] for k in pv]
            hb = [tb["hyp_tokens"][k] for k in pb]
            refs = [tb["ref_tokens"][k] for k in pb]
            if agg == "cider":
                tables = cider_tables(tuple(tuple(r) for r in refs))
                return (lambda w: tuple(tables.values([hv, hb], w))), METHOD  # type: ignore
            order = int(agg.split("-")[1])
            sv, sb = bleu_stats(hv, refs), bleu_stats(hb, refs)
            return (lambda w: (bleu_values(sv, w, order), bleu_values(sb, w, order))), METHOD
        agg = "corpus"  # old results: fall back to the mean of per-sample scores
    if info.name not in variant.per_sample or info.name not in baseline.per_sample:
        return None
    xv = np.asarray(variant.per_sample[info.name], dtype=float)[pv]
    xb = np.asarray(baseline.per_sample[info.name], dtype=float)[pb]
    if np.isnan(xv).any() or np.isnan(xb).any():
        return None
    method = METHOD if agg == "mean" else f"{METHOD}; mean of per-sample scores, rescaled " \
                                          "to the corpus retention"
    return (lambda w: (mean_values(xv, w), mean_values(xb, w))), method


def cluster_codes_of(variant: TaskResult, pv: list[int], clusters: Mapping[int, Any] | None
                     ) -> np.ndarray | None:
    """Cluster codes of the paired samples: from {subset index: cluster id} where given, else
    from the result's own `sample_stats["group"]`; None when neither has them."""
    index = variant.sample_stats.get("index")
    if index is None:
        return None
    if clusters:
        ids = [clusters.get(index[k]) for k in pv]
    else:
        groups = variant.sample_stats.get("group")
        if not groups or len(groups) != len(index):
            return None
        ids = [groups[k] for k in pv]
    return None if any(i is None for i in ids) else cluster_codes(ids)


def result_gates(variant: TaskResult, baseline: TaskResult, metrics: Sequence[MetricInfo],
                 thresholds: Mapping[str, float], settings: BootstrapSettings,
                 clusters: Mapping[int, Any] | None = None, cluster_key: str = "image"
                 ) -> dict[str, dict[str, Any]]:
    """TaskResult.gates for every metric in `thresholds` that both results carry.

    clusters: {subset index: cluster id} (e.g. the image id of each question); without it, the
    variant's `sample_stats["group"]` (written where the task's dataset names what samples
    share). With either, the intervals resample whole clusters."""
    pv, pb = paired_positions(variant, baseline)
    codes = cluster_codes_of(variant, pv, clusters)
    out: dict[str, dict[str, Any]] = {}
    for info in metrics:
        if info.name not in thresholds or not pv:
            continue
        mv, mb = variant.metrics.get(info.name), baseline.metrics.get(info.name)
        if mv is None or mb is None or mv.value is None or mb.value is None:
            continue
        if len(pv) == 1:  # no resampling of one sample: its point, inconclusive (gate_record)
            point = retention(mv.value, mb.value, info.higher_is_better)
            one = RetentionInterval(point, point, point, 0.0, 1, settings.confidence, METHOD,
                                    0, settings.seed)
            out[info.name] = gate_record(one, thresholds[info.name])
            continue
        built = _estimator(info, variant, baseline, pv, pb)
        if built is None:
            continue
        estimator, method = built
        centre = retention(mv.value, mb.value, info.higher_is_better) \
            if method != METHOD else None
        interval = paired_retention(estimator, len(pv), info.higher_is_better, settings,
                                    centre=centre, method=method, clusters=codes,
                                    cluster_key=cluster_key)
        if info.higher_is_better and info.name in baseline.per_sample:
            scores = np.asarray(baseline.per_sample[info.name], dtype=float)[pb]
            interval = agreement_interval(interval, [float(x) for x in scores])
        out[info.name] = gate_record(interval, thresholds[info.name])
    return out
