"""vlmq compare: no false alarms between runs of the same code, exactly the degraded metric
flagged otherwise, and the statistics behind it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from report_fixtures import make_results, write_benchmark_json, write_run

from vlmq.errors import VlmqError
from vlmq.report.compare import REGRESSION, Threshold, compare, load_run, parse_thresholds
from vlmq.stats.significance import SigTest, bootstrap_test, holm, rounds_test

LLAVA = "HuggingFaceM4/tiny-llava"


def regressions(a, b, **kw) -> list[tuple[str, str]]:
    rows = compare([load_run(str(a)), load_run(str(b))], **kw)
    return [(r.entry, r.metric) for r in rows if r.regressed]


@pytest.mark.parametrize("save_data", [True, False])
def test_same_code_never_regresses_over_20_seeds(tmp_path, save_data) -> None:
    # 20 pairs of independent runs of the same distribution, every metric judged each time
    alarms = []
    for seed in range(20):
        a = write_benchmark_json(tmp_path / "a.json", make_results(1000 + seed), save_data)
        b = write_benchmark_json(tmp_path / "b.json", make_results(2000 + seed), save_data)
        alarms += regressions(a, b)
    assert alarms == []


def test_degraded_quality_is_exactly_that_metric(tmp_path) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1))
    b = write_benchmark_json(tmp_path / "b.json",
                             make_results(2, degrade=(LLAVA, "int8", "cider", 0.85)))
    assert regressions(a, b) == [(f"{LLAVA}/int8/caption", "cider")]


def test_slower_variant_flags_its_latency_metrics_only(tmp_path) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1))
    # 40% slower: without history a timing change must exceed 25% (run-to-run noise), and
    # throughput then drops by 1 - 1/1.4 = 29%
    b = write_benchmark_json(tmp_path / "b.json", make_results(2, slow=("vit-tiny", "nf4", 1.4)))
    flagged = regressions(a, b)
    assert {e for e, _ in flagged} == {"vit-tiny/nf4/classify"}
    assert {"time:median", "latency_p50_ms", "throughput"} <= {m for _, m in flagged}
    # energy follows latency in the fixture and is judged by its (wider) threshold alone
    assert {m for _, m in flagged} <= {"time:median", "latency_p50_ms", "latency_p95_ms",
                                       "throughput", "energy_per_sample_j"}


def test_improvement_is_better_not_regression(tmp_path) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1, slow=("vit-tiny", "nf4", 1.4)))
    b = write_benchmark_json(tmp_path / "b.json", make_results(2))
    rows = compare([load_run(str(a)), load_run(str(b))])
    assert not any(r.regressed for r in rows)
    assert any(r.judgements[0].verdict == "better" and r.metric == "time:median" for r in rows)


def test_threshold_override_silences_a_flagged_metric(tmp_path) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1))
    b = write_benchmark_json(tmp_path / "b.json",
                             make_results(2, degrade=(LLAVA, "int8", "cider", 0.85)))
    assert regressions(a, b, overrides=parse_thresholds(["cider=50%"])) == []
    assert regressions(a, b, overrides=parse_thresholds(["quality=1abs"])) == []


def test_run_folders_compare_like_json(tmp_path) -> None:
    a = write_run(tmp_path, 1, "a")
    b = write_run(tmp_path, 2, "b", degrade=("vit-tiny", "bf16", "top1", 0.0))
    assert regressions(a.root, b.root) == [("vit-tiny/bf16/classify", "top1")]


def test_three_runs_are_each_judged_against_the_first(tmp_path) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1))
    b = write_benchmark_json(tmp_path / "b.json", make_results(2))
    c = write_benchmark_json(tmp_path / "c.json",
                             make_results(3, degrade=(LLAVA, "nf4", "bleu4", 0.7)))
    rows = compare([load_run(str(p)) for p in (a, b, c)])
    bad = [(r.entry, r.metric, [j.verdict for j in r.judgements]) for r in rows if r.regressed]
    assert bad == [(f"{LLAVA}/nf4/caption", "bleu4", ["ok", REGRESSION])]


def test_saved_history_ids_resolve_like_pytest_benchmark(tmp_path, monkeypatch) -> None:
    storage = tmp_path / ".benchmarks" / "Linux-CPython-3.11-64bit"
    write_benchmark_json(storage / "0001_abc_20260101_000000.json", make_results(1))
    write_benchmark_json(storage / "0002_def_20260102_000000.json", make_results(2))
    monkeypatch.chdir(tmp_path)
    run = load_run("0002")
    assert run.label == "0002" and len(run.entries) == 8
    assert load_run("1", ".benchmarks").entries.keys() == run.entries.keys()
    with pytest.raises(VlmqError, match="no saved run"):
        load_run("0009")


@pytest.mark.parametrize("content", ["not json", json.dumps({"x": 1}), json.dumps(
    {"benchmarks": []})])
def test_bad_inputs_are_clear_errors(tmp_path, content) -> None:
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(VlmqError):
        load_run(str(p))


def test_duplicate_entries_are_told_apart_by_param(tmp_path) -> None:
    rs = make_results(1)[:1]
    doc = write_benchmark_json(tmp_path / "a.json", rs * 2)
    data = json.loads(doc.read_text())
    data["benchmarks"][1]["param"] += "-eager"
    doc.write_text(json.dumps(data))
    assert len(load_run(str(doc)).entries) == 2


def test_bootstrap_and_rank_tests_direction_and_power() -> None:
    rng = np.random.default_rng(0)
    a = list(rng.random(80))
    same = bootstrap_test(a, a, 0.01, 0)
    assert same is not None and same.p == 1.0
    drop = bootstrap_test(a, [x - 0.1 for x in a], 0.01, 0)
    assert drop is not None and not drop.higher and drop.p < 1e-6
    fast = list(rng.lognormal(0, 0.02, 10))
    t = rounds_test(fast, [x * 1.2 for x in fast])
    assert t is not None and t.higher and t.p < 1e-3
    assert rounds_test([1.0, 1.1], [1.0, 1.2, 1.3]) is None  # too few rounds: no test


def test_holm_adjusts_monotonically() -> None:
    ts = [SigTest(p, True, "") for p in (0.01, 0.04, 0.03, 0.5)]
    holm(ts)
    assert [round(t.p_holm, 4) for t in ts] == [0.04, 0.09, 0.09, 0.5]


def test_thresholds_parse_relative_percent_and_absolute() -> None:
    got = parse_thresholds(["a=0.05", "b=5%", "c=0.01abs"])
    assert got == {"a": Threshold(0.05), "b": Threshold(0.05), "c": Threshold(0.01, True)}
    assert Threshold(0.05).exceeded(100, 106) and not Threshold(0.05).exceeded(100, 104)
    assert Threshold(0.01, True).exceeded(0.5, 0.52)
    for bad in ["a", "a=x", "=1", "a=-1"]:
        with pytest.raises(VlmqError):
            parse_thresholds([bad])


def test_device_limits_are_shown_never_judged() -> None:
    from vlmq.report.compare import Entry, Run
    from vlmq.results.schema import TaskResult

    def run(label: str, bandwidth_scale: float) -> Run:
        r = TaskResult(info={"model": "m", "variant": "fp32", "task": "vqa"})
        r.add("decode_bound_ms", 10.0 * bandwidth_scale, "ms/step", False, "limit")
        r.add("decode_efficiency", 0.5 / bandwidth_scale, "ratio", True, "limit")
        return Run(label, {("m", "fp32", "vqa"): Entry("m/fp32/vqa", r, None)})

    rows = compare([run("a", 1.0), run("b", 2.0)])  # a bandwidth measured half as high
    assert {r.metric for r in rows} == {"decode_bound_ms", "decode_efficiency"}
    assert not any(r.regressed for r in rows)
    assert all(r.higher_is_better is None for r in rows)


def test_the_process_peak_rss_is_shown_never_judged() -> None:
    from vlmq.report.compare import Entry, Run
    from vlmq.results.figures import put
    from vlmq.results.schema import TaskResult

    def run(label: str, rss: float, model: float) -> Run:
        r = TaskResult(info={"model": "m", "variant": "int8", "task": "vqa", "device": "cpu"})
        put(r, "process_peak_rss_mib", rss)
        put(r, "model_peak_memory_mib", model)
        return Run(label, {("m", "int8", "vqa"): Entry("m/int8/vqa", r, None)})

    # the A/A pair of 2026-12-06: the process's high-water mark rose 7% with the same code
    rows = {r.metric: r for r in compare([run("a", 760.3, 90.0), run("b", 814.1, 90.5)])}
    assert rows["process_peak_rss_mib"].higher_is_better is None
    assert not rows["process_peak_rss_mib"].regressed
    # the variant's own memory is still judged: doubled is a regression
    rows = {r.metric: r for r in compare([run("a", 760.3, 90.0), run("b", 760.0, 180.0)])}
    assert rows["model_peak_memory_mib"].regressed


def test_noise_floors_without_history_follow_the_device_and_the_tails() -> None:
    from vlmq.report.compare import noise_threshold

    # an RSS-based peak on a CPU: 106.6 -> 130.4 MiB with unchanged code (A1 vs D, 2026-12-06)
    assert not noise_threshold("model_peak_memory_mib", "memory", {}, "cpu").exceeded(106.6,
                                                                                        130.4)
    assert noise_threshold("model_peak_memory_mib", "memory", {}, "cpu").exceeded(106.6, 160.0)
    # the CUDA allocator's figure keeps the 16 MiB floor
    assert noise_threshold("model_peak_memory_mib", "memory", {}, "cuda:0").exceeded(106.6,
                                                                                       130.4)
    # a tail moved +25% with its median +8% (crushed/vqa tpot, A1 vs D): not beyond the noise
    assert not noise_threshold("tpot_p90_ms", "latency", {}).exceeded(7.77, 9.71)
    assert noise_threshold("tpot_p90_ms", "latency", {}).exceeded(7.77, 12.5)
    # the median keeps the 25% minimum effect
    assert noise_threshold("latency_p50_ms", "latency", {}).exceeded(152.7, 195.0)
    # a threshold the user gave wins
    assert noise_threshold("tpot_p90_ms", "latency", {"tpot_p90_ms": Threshold(0.1)}).exceeded(
        7.77, 9.71)
