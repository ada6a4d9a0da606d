"""vlmq.stats: corpus metrics recomputed on resamples equal pycocoevalcap's, and the gate
verdicts are calibrated on simulated paired per-sample scores (no model).

Calibration uses 1000 bootstrap resamples per interval (2000 in runs) to keep the 300-1000
simulations of each check to seconds; the error rates asserted are those the issue asks
for: A/A fails <= 5%, a drop equal to the reported minimum detectable drop is caught >= 70%
(about 80% in theory), twice that drop >= 95%, intervals cover the true retention >= 93%.
"""

from __future__ import annotations

import random
import shutil

import numpy as np
import pytest

from vlmq.metrics.base import MetricInfo
from vlmq.results.schema import Measurement, TaskResult
from vlmq.stats.bootstrap import BootstrapSettings, paired_retention, resample_weights
from vlmq.stats.corpus import CiderTables, bleu_stats, bleu_values, mean_values
from vlmq.stats.gates import describe, gate_fails, gate_record, samples_needed, verdict
from vlmq.stats.retention import result_gates

SIMS = 300
AA_SIMS = 1000  # coverage is ~94%: 1000 runs keep the estimate's own noise (0.7%) off 93%
FAST = BootstrapSettings(confidence=0.95, resamples=1000, seed=1)


def _captions(n: int, seed: int) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)
    words = ["a", "the", "cat", "dog", "sits", "on", "mat", "red", "blue", "big", "small",
             "runs", "near", "tree", "car"]

    def sent() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(1, 9)))

    return [sent() for _ in range(n)], [[sent() for _ in range(rng.randint(1, 5))]
                                        for _ in range(n)]


def _resample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.random.default_rng(seed).integers(0, n, n)
    return idx, np.bincount(idx, minlength=n)[None, :].astype(float)


def test_cider_and_bleu_recomputed_on_a_resample_equal_pycocoevalcap() -> None:
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider

    hyps, refs = _captions(40, 0)
    idx, w = _resample(40, 3)
    for weights, rows in ((np.ones((1, 40)), np.arange(40)), (w, idx)):
        gts = {k: refs[i] for k, i in enumerate(rows)}
        res = {k: [hyps[i]] for k, i in enumerate(rows)}
        cider, _ = Cider().compute_score(gts, res)
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
        assert CiderTables(refs).values([hyps], weights)[0][0] == pytest.approx(cider, rel=1e-9)
        stats = bleu_stats(hyps, refs)
        for order in (1, 2, 3, 4):
            assert bleu_values(stats, weights, order)[0] == pytest.approx(bleu[order - 1],
                                                                          rel=1e-9)


def _paired_scores(rng: np.random.Generator, sims: int, n: int, drop: float
                   ) -> tuple[np.ndarray, np.ndarray, float]:
    """(variant, baseline) per-sample scores, sims x n, with true retention 1 - drop: a shared
    per-sample difficulty plus independent noise on each side."""
    difficulty = rng.beta(2, 3, (sims, n))
    base = difficulty + rng.normal(0, 0.15, (sims, n))
    var = (1 - drop) * (difficulty + rng.normal(0, 0.15, (sims, n)))
    return var, base, 1 - drop


def _intervals(var: np.ndarray, base: np.ndarray, seed0: int = 0) -> list:
    out = []
    for k, (v, b) in enumerate(zip(var, base, strict=True)):
        def est(w: np.ndarray, v: np.ndarray = v, b: np.ndarray = b) -> tuple:
            return mean_values(v, w), mean_values(b, w)

        settings = BootstrapSettings(FAST.confidence, FAST.resamples, seed0 + k)
        out.append(paired_retention(est, len(v), True, settings))
    return out


def test_aa_pairs_rarely_fail_and_intervals_cover_the_truth() -> None:
    rng = np.random.default_rng(0)
    var, base, truth = _paired_scores(rng, AA_SIMS, 128, 0.0)
    found = _intervals(var, base)
    # threshold at the true retention: the hardest A/A case (any lower threshold fails less)
    fails = np.mean([verdict(i.low, i.high, truth) == "fail" for i in found])
    cover = np.mean([i.low <= truth <= i.high for i in found])
    assert fails <= 0.05, fails
    assert cover >= 0.93, cover


def test_drops_of_one_and_two_detectable_drops_are_caught() -> None:
    rng = np.random.default_rng(1)
    var, base, _ = _paired_scores(rng, 100, 128, 0.0)
    mdd = float(np.median([gate_record(i, 1.0)["min_detectable_drop"]
                           for i in _intervals(var, base)]))
    assert 0.01 < mdd < 0.2
    for drop, least in ((mdd, 0.70), (2 * mdd, 0.95)):
        var, base, truth = _paired_scores(rng, SIMS, 128, drop)
        found = _intervals(var, base, seed0=1000)
        caught = np.mean([verdict(i.low, i.high, 1.0) == "fail" for i in found])
        cover = np.mean([i.low <= truth <= i.high for i in found])
        assert caught >= least, (drop, caught)
        assert cover >= 0.93, (drop, cover)
    assert caught <= 1.0


def test_samples_needed_decides_the_gate() -> None:
    # a true 4% drop seen on 48 samples is inconclusive against 1.0; at the predicted n, a drop
    # of the observed size is decided (fails) in most simulations (80% power in theory)
    rng = np.random.default_rng(0)  # this draw shows retention 0.938, ~561 samples decide
    var, base, _ = _paired_scores(rng, 1, 48, 0.04)
    gate = gate_record(_intervals(var, base)[0], 1.0)
    assert gate["verdict"] == "inconclusive", gate
    need = gate["samples_needed"]
    assert 48 < need < 2000, gate
    var, base, _ = _paired_scores(rng, 200, need, 1.0 - gate["retention"])
    decided = np.mean([verdict(i.low, i.high, 1.0) == "fail" for i in _intervals(var, base)])
    assert decided >= 0.6, decided


def test_verdicts_policies_and_descriptions() -> None:
    assert verdict(0.98, 1.01, 0.97) == "pass"
    assert verdict(0.90, 0.96, 0.97) == "fail"
    assert verdict(0.96, 1.00, 0.97) == "inconclusive"
    gate = {"verdict": "inconclusive", "low": 0.961, "high": 1.0, "threshold": 0.97, "n": 128,
            "samples_needed": 900}
    assert not gate_fails("significant", 0.96, 0.97, gate)
    assert gate_fails("strict", 0.99, 0.97, gate)
    assert gate_fails("point", 0.96, 0.97, gate)
    assert gate_fails("significant", 0.96, 0.97, None)  # no interval: the point retention
    assert describe("meteor", gate) == ("meteor: inconclusive at n=128 (0.961..1.000 vs 0.97); "
                                        "~900 samples decide")
    assert samples_needed(128, 0.04, 0.97, 0.97) is None
    assert samples_needed(128, 0.04, 0.95, 0.97) == 512


def _result(scores: dict[str, list[float]], index: list[int], **stats) -> TaskResult:
    r = TaskResult(info={})
    for name, xs in scores.items():
        r.metrics[name] = Measurement(name, float(np.mean(xs)), "", True, "quality")
    r.per_sample = scores
    r.sample_stats = {"index": index, **stats}
    return r


def test_result_gates_pair_samples_by_index_and_follow_direction() -> None:
    base = _result({"acc": [1, 0, 1, 1, 0, 1]}, [0, 1, 2, 3, 4, 5])
    var = _result({"acc": [1, 1, 0, 1, 1]}, [0, 2, 3, 4, 5])  # sample 1 failed
    gates = result_gates(var, base, [MetricInfo("acc")], {"acc": 0.9}, FAST)
    g = gates["acc"]
    assert g["n"] == 5 and g["retention"] == pytest.approx(4 / 4)
    assert g["low"] <= g["retention"] <= g["high"]
    # lower is better: retention = baseline / variant
    lo = MetricInfo("acc", higher_is_better=False)
    inv = result_gates(var, base, [lo], {"acc": 0.9}, FAST)["acc"]
    assert inv["retention"] == pytest.approx(1.0)
    # results written before sample_stats: paired by position when the lengths agree
    var.sample_stats, base.sample_stats = {}, {}
    base.per_sample["acc"] = base.per_sample["acc"][:5]
    assert result_gates(var, base, [MetricInfo("acc")], {"acc": 0.9}, FAST)["acc"]["n"] == 5


def test_caption_gates_use_the_tokens() -> None:
    hyps_b, refs = _captions(30, 5)
    hyps_v = hyps_b[:20] + _captions(10, 6)[0]
    base = _result({"cider": [0.0] * 30}, list(range(30)), hyp_tokens=hyps_b, ref_tokens=refs)
    var = _result({"cider": [0.0] * 30}, list(range(30)), hyp_tokens=hyps_v, ref_tokens=refs)
    tables = CiderTables(refs)
    cv, cb = (tables.values([h], np.ones((1, 30)))[0][0] for h in (hyps_v, hyps_b))
    gate = result_gates(var, base, [MetricInfo("cider", aggregate="cider")], {"cider": 0.9},
                        FAST)["cider"]
    assert gate["retention"] == pytest.approx(cv / cb)
    assert gate["low"] < gate["retention"] < gate["high"]


@pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime: METEOR needs it")
def test_meteor_mean_of_samples_stays_close_to_the_corpus_value() -> None:
    """The approximation METEOR's interval uses: retention of the mean of per-sample scores vs
    retention of the corpus METEOR (its fragmentation penalty is corpus-wide)."""
    from vlmq.data.embedded import load_embedded
    from vlmq.metrics.caption import meteor_scores, pycocoevalcap_dir
    from vlmq.metrics.ptb import coco_tokenize

    refs = [[coco_tokenize(c) for c in r] for r in load_embedded("coco-scenes", "test")
            .select(range(120))["answer"]]
    gts = {i: r[2:] for i, r in enumerate(refs)}
    java, install = shutil.which("java"), pycocoevalcap_dir()
    # two "variants": the first and the second human caption, against the other three
    (ca, pa), (cb, pb) = (meteor_scores(gts, {i: [r[k]] for i, r in enumerate(refs)}, java,
                                        install) for k in (0, 1))
    corpus_ret = ca / cb
    mean_ret = float(np.mean(pa) / np.mean(pb))
    assert abs(corpus_ret - mean_ret) < 0.01, (corpus_ret, mean_ret)


def test_cider_values_of_a_set_are_computed_once_per_weights(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The baseline's half of every caption gate is computed once, and the kept values are the
    ones a fresh computation gives."""
    hyps_b, refs = _captions(30, 5)
    hyps_v = hyps_b[:20] + _captions(10, 6)[0]
    weights = resample_weights(30, 50, 0)
    tables = CiderTables(refs)
    computed: list[int] = []
    real = tables._computed
    monkeypatch.setattr(tables, "_computed",
                        lambda sets, w, chunk: computed.append(len(sets)) or real(sets, w, chunk))
    first_v, first_b = tables.values([hyps_v, hyps_b], weights)
    again_b, = tables.values([hyps_b], weights)
    other = tables.values([hyps_b], weights[:10])
    assert computed == [2, 1]  # the baseline again under the same weights: kept
    assert again_b is first_b
    fresh_v, fresh_b = CiderTables(refs).values([hyps_v, hyps_b], weights)
    np.testing.assert_array_equal(first_v, fresh_v)
    np.testing.assert_array_equal(first_b, fresh_b)
    np.testing.assert_array_equal(other[0], first_b[:10])
    assert not weights.flags.writeable  # shared between gates: nobody may change them
