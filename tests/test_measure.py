"""The measurement trackers: latency statistics, peak memory, footprint, energy, machine info."""

from __future__ import annotations

import logging
import mmap
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vlmq.errors import VlmqError
from vlmq.measure import memory as memory_mod
from vlmq.measure.energy import EnergyTracker
from vlmq.measure.footprint import model_bytes, saved_bytes
from vlmq.measure.latency import Timer
from vlmq.measure.machine import flush_denormal_active, machine_info, prepare_cpu
from vlmq.measure.memory import PeakMemory
from vlmq.stats.latency import LatencyStats
from vlmq.variants import VARIANTS
from vlmq.variants.registry import backends

logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
MiB = 1024 * 1024
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# Hand-computed sizes for one Linear(64 -> 128) with an fp32 bias (512 bytes).
OUT, IN, BIAS = 128, 64, 128 * 4


# -- latency --------------------------------------------------------------------------------

def test_latency_percentiles_by_hand() -> None:
    stats = LatencyStats.from_seconds([i / 1000 for i in range(1, 11)])  # 1..10 ms
    assert stats.rounds == 10
    assert stats.mean_ms == pytest.approx(5.5)
    assert stats.p50_ms == pytest.approx(5.5)
    assert stats.p90_ms == pytest.approx(9.1)  # linear interpolation between 9 and 10
    assert stats.p95_ms == pytest.approx(9.55)
    assert stats.p99_ms == pytest.approx(9.91)
    assert stats.std_ms == pytest.approx((sum((i - 5.5) ** 2 for i in range(1, 11)) / 9) ** 0.5)
    assert (stats.min_ms, stats.max_ms) == pytest.approx((1.0, 10.0))
    assert LatencyStats.from_seconds([0.002]).std_ms == 0.0
    with pytest.raises(VlmqError, match="no timed rounds"):
        LatencyStats.from_seconds([])


def test_timer_times_the_block_and_marks_its_start() -> None:
    before = time.perf_counter()
    with Timer("cpu") as timer:
        time.sleep(0.03)
    assert 0.03 <= timer.seconds < 1.0
    assert before <= timer.start <= before + 0.01
    with timer:  # reusable: each block overwrites the last
        pass
    assert timer.seconds < 0.03


# -- memory ---------------------------------------------------------------------------------

def _touch(mib: int, hold_s: float = 0.0) -> None:
    """Make `mib` MiB newly resident, then release them. An anonymous mmap gives fresh pages
    every time; a tensor could reuse heap pages the allocator kept from earlier tests, and the
    process's RSS would not rise at all."""
    block = mmap.mmap(-1, mib * MiB)
    page = b"\1" * MiB
    for _ in range(mib):
        block.write(page)  # written, so resident (one small buffer, reused)
    time.sleep(hold_s)
    block.close()


def test_peak_rss_covers_only_the_block() -> None:
    _touch(96)  # an earlier, bigger peak that must not show up below
    with PeakMemory("cpu") as mem:
        _touch(48)
    result = mem.result
    assert result is not None and result.method in ("vmhwm", "psutil-sampling")
    assert 44 * MiB <= result.growth_bytes < 90 * MiB
    with PeakMemory("cpu") as idle:
        pass
    assert idle.result.growth_bytes < 16 * MiB



def test_a_restarted_peak_leaves_out_what_ran_before() -> None:
    """A calibrated variant's load is measured from after its calibration (Runner.load)."""
    with PeakMemory("cpu") as mem:
        _touch(96)  # calibration's float32 model, freed before the load
        mem.restart()
        _touch(48)
    assert 44 * MiB <= mem.result.growth_bytes < 90 * MiB


def test_work_set_aside_is_left_out_and_the_peak_before_it_kept() -> None:
    """The disk-size save of a loaded variant is vlmq's measuring, not the load's."""
    with PeakMemory("cpu") as mem:
        _touch(48)  # loading
        with mem.aside():
            _touch(160)  # the save's copy of every tensor
        _touch(8)
    assert 44 * MiB <= mem.result.growth_bytes < 90 * MiB
    with PeakMemory("cpu") as after:
        with after.aside():
            _touch(64)
        _touch(96)
    assert 92 * MiB <= after.result.growth_bytes < 140 * MiB


def test_a_loads_peak_leaves_out_its_disk_size_save(monkeypatch, tmp_path) -> None:
    import numpy as np

    from vlmq.config import RunConfig
    from vlmq.loading import unload
    from vlmq.measure.footprint import SavedSize
    from vlmq.session import BenchmarkSession, Case
    from vlmq.variants.base import Variant

    def saving(self, model, source) -> SavedSize:
        buffer = np.ones(200 * MiB, dtype=np.uint8)  # like safetensors' bytes copies
        return SavedSize(int(buffer.sum() > 0), "test")

    monkeypatch.setattr(Variant, "disk_size", saving)
    session = BenchmarkSession(RunConfig(
        models=["llava-tiny"], tasks=["caption"], samples=2, energy=False, progress=False,
        device="cpu", reports_dir=str(tmp_path / "runs")))
    loaded = session.load(Case("llava-tiny", "int8"))
    try:
        assert loaded.disk_bytes == 1
        assert loaded.load_memory.growth_bytes < 150 * MiB
    finally:
        unload(loaded)


# Run in a fresh interpreter (the allocator's state is the process's): the RSS left after
# freeing blocks of two sizes (in KiB) allocated between small live ones, once a freed 16 MiB
# block has raised glibc's mmap threshold past them, plainly and inside large_frees_returned.
_RETAINED = """
import contextlib, sys
from vlmq.measure.memory import current_rss, large_frees_returned, release_freed_memory
small, large = (int(kib) << 10 for kib in sys.argv[1:3])
def grown(ctx):
    with ctx:
        a = bytearray(16 << 20); del a          # a mapped block freed: glibc raises its threshold
        keep = []
        release_freed_memory(); start = current_rss()
        for _ in range((160 << 20) // (small + large)):  # as 8 rounds of 8 + 12 MiB
            b = bytearray(small); keep.append(bytearray(64)); del b
            c = bytearray(large); keep.append(bytearray(64))
            keep.append(c)
        keep = [k for k in keep if len(k) == 64]
        return (current_rss() - start) >> 20
print(grown(contextlib.nullcontext()), grown(large_frees_returned()))
"""


# a float32 checkpoint's tensors (MiB), and a 4-bit quantizer's scales and states (KiB)
@pytest.mark.parametrize("kib", [(8 << 10, 12 << 10), (256, 384)])
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_large_frees_return_to_the_kernel_while_loading(kib: tuple[int, int]) -> None:
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", _RETAINED, *map(str, kib)], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": root}).stdout
    plain, returned = map(int, out.split())
    assert plain >= 48 and returned <= plain // 2, (plain, returned)


def test_peak_rss_falls_back_to_sampling(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(memory_mod, "_CLEAR_REFS", tmp_path / "missing" / "clear_refs")
    with PeakMemory("cpu") as mem:
        _touch(48, hold_s=0.1)
    assert mem.result.method == "psutil-sampling"
    assert "clear_refs" in mem.result.note
    assert mem.result.growth_bytes >= 40 * MiB


@pytest.mark.gpu
@needs_cuda
def test_cuda_peak_memory() -> None:
    with PeakMemory("cuda") as mem:
        x = torch.empty(32 * MiB, dtype=torch.uint8, device="cuda")
        del x
    assert mem.result.method == "cuda-max-allocated"
    assert mem.result.growth_bytes >= 32 * MiB
    assert mem.result.reserved_bytes >= mem.result.peak_bytes


# -- footprint ------------------------------------------------------------------------------

def _linear() -> torch.nn.Linear:
    torch.manual_seed(0)
    return torch.nn.Linear(IN, OUT)


def test_footprint_plain_and_tied() -> None:
    assert model_bytes(_linear(), backends()) == OUT * IN * 4 + BIAS
    emb = torch.nn.Embedding(OUT, IN)
    head = torch.nn.Linear(IN, OUT, bias=False)
    head.weight = emb.weight  # tied: one storage
    assert model_bytes(torch.nn.Sequential(emb, head), backends()) == OUT * IN * 4


def test_footprint_bnb_int8_counts_scales() -> None:
    bnb = pytest.importorskip("bitsandbytes")
    lin = _linear()
    layer = bnb.nn.Linear8bitLt(IN, OUT, has_fp16_weights=False)
    layer.weight = bnb.nn.Int8Params(lin.weight.data.clone(), requires_grad=False,
                                     has_fp16_weights=False)
    layer.bias = torch.nn.Parameter(lin.bias.data.clone())
    layer = layer.to("cpu").eval()
    expected = OUT * IN * 1 + OUT * 4 + BIAS  # int8 weights + one fp32 scale per row + bias
    assert model_bytes(layer, backends()) == expected
    layer(torch.randn(2, IN))  # moves the scales into layer.state and caches CB: same bytes
    assert model_bytes(layer, backends()) == expected


def test_footprint_bnb_nf4_counts_quant_state() -> None:
    bnb = pytest.importorskip("bitsandbytes")
    lin = _linear()
    layer = bnb.nn.Linear4bit(IN, OUT, compute_dtype=torch.float32, quant_type="nf4",
                              compress_statistics=True)
    layer.weight = bnb.nn.Params4bit(lin.weight.data.clone(), requires_grad=False,
                                     quant_type="nf4", compress_statistics=True)
    layer.bias = torch.nn.Parameter(lin.bias.data.clone())
    layer = layer.to("cpu").eval()
    blocks = OUT * IN // 64
    expected = (OUT * IN // 2  # two 4-bit values per byte
                + blocks * 1  # absmax per 64-block, itself quantized to uint8 (double quant)
                + 16 * 4 + 4  # the 16-entry NF4 code and the absmax offset, fp32
                + 1 * 4 + 256 * 4  # nested state: one fp32 absmax per 256 blocks, 8-bit code
                + BIAS)
    assert model_bytes(layer, backends()) == expected


def test_footprint_torchao_dynamic_counts_inner_tensors() -> None:
    pytest.importorskip("torchao")
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    model = torch.nn.Sequential(_linear())
    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    # int8 data + fp32 scale per row + int8 zero point per row + bias
    assert model_bytes(model, backends()) == OUT * IN + OUT * 4 + OUT * 1 + BIAS


@pytest.mark.parametrize("bits", [4, 8])
def test_footprint_hqq_counts_meta_scales_and_bias(bits: int) -> None:
    pytest.importorskip("hqq")
    from hqq.core.quantize import BaseQuantizeConfig, HQQLinear

    layer = HQQLinear(_linear(), BaseQuantizeConfig(nbits=bits, group_size=64),
                      compute_dtype=torch.float32, device="cpu")
    groups = OUT * IN // 64
    # packed weights + fp32 scale and zero per group of 64 + the bias, which HQQ keeps
    # (like the scales) outside parameters and buffers
    assert model_bytes(layer, backends()) == OUT * IN * bits // 8 + groups * 4 * 2 + BIAS


@pytest.mark.parametrize("qtype,bits", [("qint8", 8), ("qint4", 4)])
def test_footprint_quanto_counts_inner_tensors(qtype: str, bits: int) -> None:
    quanto = pytest.importorskip("optimum.quanto")
    model = torch.nn.Sequential(_linear())
    quanto.quantize(model, weights=getattr(quanto, qtype), include=["0"])
    quanto.freeze(model)
    # int8 (or two packed int4) weights + fp32 scale per row (+ int4's fp32 shift per row)
    # + bias + quanto's two scalar activation scales
    scales = OUT * 4 * (1 if bits == 8 else 2)
    assert model_bytes(model, backends()) == OUT * IN * bits // 8 + scales + BIAS + 2 * 4


def test_footprint_torchao_counts_inner_tensors() -> None:
    pytest.importorskip("torchao")
    from torchao.quantization import Int8WeightOnlyConfig, quantize_

    model = torch.nn.Sequential(_linear())
    quantize_(model, Int8WeightOnlyConfig())
    # int8 data + fp32 scale per row + int8 zero point per row + bias, not 4 bytes per weight
    assert model_bytes(model, backends()) == OUT * IN + OUT * 4 + OUT * 1 + BIAS


# -- bytes on disk --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_llama() -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, vocab_size=128)
    torch.manual_seed(0)
    return LlamaForCausalLM(config).eval()


def test_saved_bytes_save_pretrained(tiny_llama: torch.nn.Module) -> None:
    size = saved_bytes(tiny_llama, "save_pretrained")
    weights = model_bytes(tiny_llama, backends())
    assert size.bytes is not None and "save_pretrained" in size.note
    # safetensors holds every weight once plus a small header and the config files
    assert weights <= size.bytes < weights + 64 * 1024
    by_variant = saved_bytes(tiny_llama, VARIANTS.get("fp32"))
    assert by_variant.note == size.note


def test_saved_bytes_torch_save_and_failures() -> None:
    pytest.importorskip("torchao")
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    model = torch.nn.Sequential(_linear())
    quantize_(model, Int8DynamicActivationInt8WeightConfig())
    size = saved_bytes(model, VARIANTS.get("dynamic-int8"))  # its recipe saves with torch.save
    assert size.bytes is not None and size.note.startswith("torch.save")
    assert OUT * IN <= size.bytes < OUT * IN * 4
    failed = saved_bytes(model, "save_pretrained")  # a plain nn.Module has no save_pretrained
    assert failed.bytes is None and "save_pretrained failed: AttributeError" in failed.note
    assert saved_bytes(model, "pickle").bytes is None
# -- energy ---------------------------------------------------------------------------------

def test_energy_disabled() -> None:
    with EnergyTracker("cpu", enabled=False) as energy, energy.window("timed"):
        pass
    assert energy.result("timed").wh is None and energy.result("timed").source == "disabled"


def test_energy_without_codecarbon(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "codecarbon", None)  # makes the import fail
    with EnergyTracker("cpu", "USA") as energy, energy.window("timed"):
        pass
    result = energy.result("timed")
    assert result.wh is None and result.source == "none"
    assert "codecarbon is not installed" in result.note


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.mark.energy
def test_energy_codecarbon_offline_windows() -> None:
    """Only the windows count, each region apart: the work between them is not measured."""
    pytest.importorskip("codecarbon")
    with EnergyTracker("cpu", "USA") as energy:
        with energy.window("first_call"):
            _busy(0.2)
        _busy(0.5)  # untimed work between the calls
        for _ in range(3):
            with energy.window("timed"):
                _busy(0.2)
    timed, first = energy.result("timed"), energy.result("first_call")
    assert timed.source in ("codecarbon-estimate", "codecarbon-rapl")
    assert timed.windows == 3 and first.windows == 1
    assert timed.duration_s == pytest.approx(0.6, abs=0.1)
    assert timed.wh is not None and first.wh is not None and timed.wh > 0
    assert timed.kg_co2eq is not None and timed.kg_co2eq > 0
    # codecarbon also reads the GPU's energy where there is one (it counts towards the total)
    assert timed.wh == pytest.approx(timed.cpu_wh + timed.ram_wh + (timed.gpu_wh or 0.0))
    if timed.source == "codecarbon-estimate":
        assert "estimate" in timed.note
        # a power model: energy in proportion to the windows' time (3 windows vs 1)
        assert timed.wh / first.wh == pytest.approx(timed.duration_s / first.duration_s,
                                                     rel=0.25)
    assert energy.result("load").wh is None and "no load window" in energy.result("load").note


@pytest.mark.gpu
@needs_cuda
def test_energy_nvml_counter_on_gpu() -> None:
    pytest.importorskip("pynvml")
    x = torch.randn(4096, 4096, device="cuda")
    with EnergyTracker("cuda", "USA") as energy, energy.window("timed"):
        end = time.perf_counter() + 2.0
        while time.perf_counter() < end:
            x @ x
        torch.cuda.synchronize()
    assert "nvml-counter" in energy.result("timed").source
    assert energy.result("timed").gpu_wh is not None and energy.result("timed").gpu_wh > 0


# -- machine --------------------------------------------------------------------------------

def test_machine_info_fields() -> None:
    info = machine_info()
    for key in ("cpu_model", "torch_version", "transformers_version", "bitsandbytes_version",
                "torchao_version", "accelerate_version", "cuda_version", "gpu_name",
                "gpu_driver", "torch_threads", "flush_denormal"):
        assert key in info
    assert info["torch_version"] == torch.__version__


def test_prepare_cpu_sets_threads_and_denormals() -> None:
    threads, denormal = torch.get_num_threads(), flush_denormal_active()
    try:
        assert prepare_cpu(1) == {"threads": 1, "flush_denormal": True}
        assert torch.get_num_threads() == 1 and flush_denormal_active()
        assert machine_info()["torch_threads"] == 1
        assert prepare_cpu(0)["threads"] >= 1
        with pytest.raises(VlmqError, match="threads"):
            prepare_cpu(-1)
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(denormal)


@pytest.mark.skipif(memory_mod._glibc("mallopt") is None, reason="needs glibc (mallopt)")
def test_running_mmap_threshold_is_glibcs_own_setting_when_given(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert memory_mod.running_mmap_threshold() == 32 << 20
    assert machine_info()["glibc_mmap_threshold_running"] == 32 << 20
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert memory_mod.running_mmap_threshold() == 131072
    assert machine_info()["glibc_mmap_threshold_running"] == 131072
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "lots")  # glibc ignores it: so does vlmq
    assert memory_mod.running_mmap_threshold() == 32 << 20
