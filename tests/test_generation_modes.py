"""Generation modes, the fixed new-token count, and the hardware bounds beside each entry."""

from __future__ import annotations

import pytest

from vlmq.config import RunConfig
from vlmq.errors import UnavailableError, VlmqError
from vlmq.loading import load_variant, unload
from vlmq.measure.hardware import HardwareLimits, hardware_limits
from vlmq.models.modes import generation_options, mode_unavailable_reason
from vlmq.results.measures import add_hardware_limits
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.session import BenchmarkSession, Case
from vlmq.variants.registry import VARIANTS


def _session(tmp_path, **kw) -> BenchmarkSession:
    settings = dict(models=["llava-tiny"], tasks=["vqa"], samples=2, batch_size=2,
                    max_new_tokens=3, energy=False, progress=False, device="cpu",
                    warmup_rounds=0, reports_dir=str(tmp_path / "runs"))
    return BenchmarkSession(RunConfig(**{**settings, **kw}))


def _run(session: BenchmarkSession, variant: str) -> tuple[TaskResult, list[SampleRecord]]:
    case = Case("llava-tiny", variant)
    loaded = session.load(case)
    try:
        result = session.run(loaded, case, "vqa")
    finally:
        unload(loaded)
    return result, session.store.records("llava-tiny", variant, "vqa")


# one variant per backend in the default run; every other registered variant under -m slow
BACKENDS = ("fp32", "int8", "nf4", "dynamic-int8", "torchao-int8")


@pytest.mark.parametrize("variant", [
    pytest.param(v, marks=() if v in BACKENDS else pytest.mark.slow) for v in VARIANTS.names()])
def test_fixed_token_count_holds_for_every_variant(variant: str) -> None:
    from PIL import Image

    reason = VARIANTS.get(variant).unavailable_reason("cpu")
    if reason:
        pytest.skip(reason)
    images = [Image.new("RGB", (96, 96), (200, 30, 30)), Image.new("RGB", (96, 96), (0, 0, 0))]
    prompts = ["What shape is in the image?", "What color is the shape?"]
    loaded = load_variant("llava-tiny", variant, device="cpu", measure_disk=False)
    try:
        if variant == "fp32":  # the trained model stops early on its own ...
            assert min(loaded.generate(images, prompts, 8).new_tokens) < 8
        loaded.generate_options = {"fixed_new_tokens": True}  # ... but not when fixed
        assert loaded.generate(images, prompts, 8).new_tokens == [8, 8]
    finally:
        unload(loaded)


def test_static_cache_decodes_what_eager_decodes(tmp_path) -> None:
    eager, eager_records = _run(_session(tmp_path / "e"), "fp32")
    static, static_records = _run(_session(tmp_path / "s", generation="static"), "fp32")
    assert static.info["generation"] == "static" and eager.info["generation"] == "eager"
    assert [r.prediction for r in static_records] == [r.prediction for r in eager_records]
    assert "compile_time_s" not in static.metrics


@pytest.mark.slow
def test_compiled_decoding_reports_compile_time_apart(tmp_path) -> None:
    result, records = _run(_session(tmp_path, generation="compiled", warmup_rounds=1), "fp32")
    assert result.metrics["compile_time_s"].value > 0
    assert result.metrics["first_call_s"].value > max(result.rounds_s)
    assert all(r.new_tokens for r in records)


def test_modes_that_cannot_run_skip_with_the_reason(tmp_path) -> None:
    loaded = load_variant("llava-tiny", "int8", device="cpu", measure_disk=False)
    try:
        assert mode_unavailable_reason("static", loaded.model) is None
        assert "Bnb8Bit" in mode_unavailable_reason("compiled", loaded.model)
        assert mode_unavailable_reason("eager", loaded.model) is None
    finally:
        unload(loaded)
    session = _session(tmp_path, generation="compiled")
    with pytest.raises(UnavailableError, match="does not compile"):
        session.load(Case("llava-tiny", "int8"))
    assert any("does not compile" in s["reason"] for s in session.store.skips())
    with pytest.raises(VlmqError, match="generation: 'fast' is not allowed"):
        _session(tmp_path, generation="fast")


def test_mode_options() -> None:
    assert generation_options("eager", "cpu") == {"disable_compile": True}
    assert generation_options("static", "cuda")["disable_compile"] is True  # never compiles
    cpu = generation_options("compiled", "cpu")["compile_config"]
    assert cpu._compile_all_devices and cpu.mode == "default"
    assert generation_options("compiled", "cuda")["compile_config"].mode == "reduce-overhead"


def test_hardware_limits_are_measured_once() -> None:
    limits = hardware_limits("cpu")
    assert limits is hardware_limits("cpu")
    assert limits.bandwidth_bytes_per_s > 1e8 and limits.matmul_flops_per_s > 1e8


def test_bounds_and_efficiency_arithmetic() -> None:
    # two batches of 2 samples, 5 tokens each: 4 decode steps after a 0.1 s prefill
    records = [SampleRecord(str(i), i, i // 2, "p", "x", [], latency_s=0.25, new_tokens=5,
                            prefill_s=0.1) for i in range(4)]
    result = TaskResult(info={})
    limits = {"bandwidth_bytes_per_s": 1e9, "matmul_flops_per_s": 1e12, "matmul_dtype": "f32",
              "device": "cpu"}
    add_hardware_limits(result, records, limits, decode_bytes=50_000_000, prefill_flops=2e10)
    m = {k: v.value for k, v in result.metrics.items()}
    assert m["decode_step_ms"] == pytest.approx(100.0)  # (0.5 - 0.1) s / 4 steps
    assert m["decode_bound_ms"] == pytest.approx(50.0)
    assert m["decode_efficiency"] == pytest.approx(0.5)
    assert m["prefill_bound_ms"] == pytest.approx(20.0)
    assert m["prefill_efficiency"] == pytest.approx(0.2)


def _limits(bandwidth: float, peak: float, probes: int = 1) -> HardwareLimits:
    return HardwareLimits("cpu", bandwidth, peak, "bfloat16", 1, 1,
                          {"float32": peak / 2, "bfloat16": peak}, probes)


def test_a_beaten_bound_is_probed_again_and_the_best_kept(monkeypatch) -> None:
    # the first probe (slowed) puts the prefill at 2x its bound; the second, faster, at 0.5x
    from vlmq.measure import hardware
    from vlmq.session import runner

    probes = iter([_limits(1e9, 1e11), _limits(5e8, 4e11)])
    monkeypatch.setattr(hardware, "_MEASURED", {})
    monkeypatch.setattr(hardware, "_measure", lambda device: next(probes))
    records = [SampleRecord(str(i), i, i, "p", "x", [], latency_s=0.25, new_tokens=5,
                            prefill_s=0.1) for i in range(2)]
    result = TaskResult(info={})
    runner.add_bounds(result, records, "cpu", (20_000_000, 2e10))
    limits = result.info["hardware_limits"]
    assert limits["probes"] == 2
    assert limits["bandwidth_bytes_per_s"] == 1e9  # the better of the two probes
    assert limits["matmul_flops_per_s"] == 4e11
    assert result.metrics["prefill_efficiency"].value == pytest.approx(0.5)
    assert "bound_beaten" not in result.notes


def test_a_bound_still_beaten_after_the_probes_says_so(monkeypatch) -> None:
    from vlmq.measure import hardware
    from vlmq.session import runner

    monkeypatch.setattr(hardware, "_MEASURED", {})
    monkeypatch.setattr(hardware, "_measure", lambda device: _limits(1e9, 1e11))
    records = [SampleRecord("0", 0, 0, "p", "x", [], latency_s=0.25, new_tokens=5,
                            prefill_s=0.1)]
    result = TaskResult(info={})
    runner.add_bounds(result, records, "cpu", (20_000_000, 2e10))
    assert result.info["hardware_limits"]["probes"] == runner.BOUND_PROBES
    assert "3 probes" in result.notes["bound_beaten"]


def test_fast_variants_skip_with_the_reason_off_gpu() -> None:
    import importlib.util

    for name in ("torchao-int4", "torchao-float8", "torchao-float8-dynamic"):
        assert "cuda" in VARIANTS.get(name).unavailable_reason("cpu")
    if importlib.util.find_spec("mslk") is None and importlib.util.find_spec("torchao"):
        assert "pip install mslk-cuda" in VARIANTS.get("torchao-int4").unavailable_reason("cuda")


def test_an_unquantized_variants_prefill_bound_is_at_its_own_dtypes_peak(monkeypatch) -> None:
    """fp16 on a CPU without float16 kernels is bound by float16's peak (measured when first
    asked for), not bfloat16's: BLIP fp16 read 0.04 against the fastest dtype's."""
    from vlmq.measure import hardware
    from vlmq.session import runner

    monkeypatch.setattr(hardware, "_MEASURED", {})
    monkeypatch.setattr(hardware, "_measure", lambda device: _limits(1e9, 4e11))
    monkeypatch.setattr(hardware, "_matmul_peak", lambda device, dtype, n: 2e10)
    records = [SampleRecord("0", 0, 0, "p", "x", [], latency_s=0.25, new_tokens=5,
                            prefill_s=1.0)]
    fp16, quantized = TaskResult(info={}), TaskResult(info={})
    runner.add_bounds(fp16, records, "cpu", (20_000_000, 1e10), "float16")
    runner.add_bounds(quantized, records, "cpu", (20_000_000, 1e10))
    assert fp16.info["hardware_limits"]["matmul_dtype"] == "float16"
    assert fp16.metrics["prefill_efficiency"].value == pytest.approx(0.5)  # 1e10 / 2e10 / 1 s
    assert quantized.info["hardware_limits"]["matmul_dtype"] == "bfloat16"  # the fastest
    assert quantized.metrics["prefill_efficiency"].value == pytest.approx(0.025)
    assert hardware.hardware_limits("cpu").matmul_peaks["float16"] == 2e10  # kept


def test_the_bandwidth_is_the_median_burst_so_a_fast_spell_does_not_decide_it(monkeypatch) -> None:
    """The copy bandwidth of a shared machine moves in spells of seconds (27-31 and 35-41 GB/s
    here): the probe's figure is the median of bursts spread over time, the range kept."""
    from vlmq.measure import hardware

    spells = iter([30e9, 29e9, 40e9, 41e9, 31e9, 28e9, 30e9, 39e9, 29e9])
    monkeypatch.setattr(hardware, "_bandwidth_bursts",
                        lambda device, n: [next(spells) for _ in range(hardware.BANDWIDTH_BURSTS)])
    limits = hardware._measure("cpu")
    assert limits.bandwidth_bytes_per_s == 30e9
    assert limits.bandwidth_range_bytes_per_s == (28e9, 41e9)


def test_the_bandwidth_bursts_are_spread_over_time(monkeypatch) -> None:
    from vlmq.measure import hardware

    sleeps: list[float] = []
    monkeypatch.setattr(hardware.time, "sleep", sleeps.append)
    rates = hardware._bandwidth_bursts("cpu", 1 << 20)
    assert len(rates) == hardware.BANDWIDTH_BURSTS and min(rates) > 0
    assert sleeps == [hardware.BURST_GAP_S] * (hardware.BANDWIDTH_BURSTS - 1)


def test_the_report_gives_the_bandwidth_bursts_range() -> None:
    from vlmq.report.markdown import _limits_table
    from vlmq.results.schema import Measurement

    limits = {**_limits(29.5e9, 4e11).to_dict(), "bandwidth_range_bytes_per_s": (27.2e9, 40.1e9)}
    bound = Measurement("decode_bound_ms", 1.0, "ms", False, "limit")
    result = TaskResult(info={"hardware_limits": limits, "model": "m", "variant": "bf16"},
                        metrics={"decode_bound_ms": bound})
    text = "\n".join(_limits_table([result]))
    assert "bandwidth 29.5 GB/s (median burst; bursts 27.2-40.1)" in text
