"""The memory estimate and the refusal before loading (vlmq.measure.estimate, vlmq.fit)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.benchrun import run_bench
from vlmq.errors import VlmqError
from vlmq.fit import DoesNotFit
from vlmq.loading import load_variant, resolve_source, unload
from vlmq.measure.estimate import (
    MIB,
    KernelTransit,
    ModelShape,
    VariantCost,
    Workload,
    available_ram_bytes,
    does_not_fit,
    estimate,
)
from vlmq.placement import size_bytes
from vlmq.synth import SYNTHETIC_KEY

# a 7B-like shape: 6.5B parameters in Linear layers of the text part, 0.26B in embeddings/head
SHAPE = ModelShape(
    part_params={"text": 6_740_000_000, "head": 131_000_000, "vision": 303_000_000},
    part_linear_params={"text": 6_476_000_000, "head": 131_000_000, "vision": 302_000_000},
    largest_linear={"text": 45_000_000, "head": 131_000_000}, largest_tensor=131_000_000,
    checkpoint_bytes=2.0,
    kv_token_elements=2 * 32 * 4096, hidden=4096, intermediate=11008, heads=32,
)
ALL = ("vision", "projector", "text")


def _cost(name: str, bits: float, base: int, after: bool = False,
          quantizes: tuple[str, ...] = ALL) -> VariantCost:
    return VariantCost(name, bits, quantizes if bits else (), base, after)


def test_weights_follow_bits_per_part() -> None:
    fp32 = estimate(SHAPE, _cost("fp32", 0, 4), Workload())
    nf4 = estimate(SHAPE, _cost("nf4", 4.125, 2), Workload())
    assert fp32.weights_bytes == 4 * SHAPE.params
    # nf4: quantized Linear weights at 4.125 bits, the rest (head, embeddings, norms) in 16 bits
    rest = SHAPE.params - 6_476_000_000 - 302_000_000
    assert nf4.weights_bytes == pytest.approx((6_778_000_000 * 4.125 / 8) + rest * 2, rel=1e-6)
    assert nf4.peak_bytes < 5 * 2**30 < 26 * 2**30 < fp32.peak_bytes


def test_a_post_load_quantizer_holds_the_full_precision_model_first() -> None:
    during = estimate(SHAPE, _cost("torchao-int8", 8, 2, after=True), Workload())
    at_load = estimate(SHAPE, _cost("int8", 8, 2), Workload())
    assert during.weights_bytes == at_load.weights_bytes
    assert during.load_peak_bytes >= 2 * SHAPE.params > at_load.load_peak_bytes


def test_the_batch_adds_kv_cache_and_activations() -> None:
    one = estimate(SHAPE, _cost("nf4", 4.125, 2), Workload(batch=1))
    eight = estimate(SHAPE, _cost("nf4", 4.125, 2), Workload(batch=8))
    kv_one = 2 * 32 * 4096 * (640 + 32) * 2
    assert eight.run_peak_bytes - one.run_peak_bytes > 7 * kv_one


def test_a_tiled_image_adds_its_vision_activations(tmp_path: Path) -> None:
    from dataclasses import replace

    from vlmq.models.idefics3 import Idefics3Adapter

    # SmolVLM-256M's SigLIP: 512-pixel tiles of 16-pixel patches, 768 + 3072 wide, 12 heads
    shape = replace(SHAPE, vision_patches=1024, vision_width=768 + 3072, vision_heads=12)
    cost = _cost("bf16", 0, 2)
    one, many = (estimate(shape, cost, Workload(image_tiles=t)) for t in (1, 17))
    per_tile = 1024 * 2 * (768 + 3072 + 12 * 1024)  # one width per patch, every head's scores
    text = 640 * 4 * (4096 + 11008) * 2 + 32 * 640**2 * 4  # the language model's, larger at 1
    assert many.run_peak_bytes - one.run_peak_bytes == 17 * per_tile - text
    (tmp_path / "processor_config.json").write_text(json.dumps({"image_processor": {
        "do_image_splitting": True, "size": {"longest_edge": 2048},
        "max_image_size": {"longest_edge": 512}}}))
    assert Idefics3Adapter().image_tiles(str(tmp_path)) == 17
    assert Idefics3Adapter().image_tiles(str(tmp_path / "absent")) == 1


def test_a_tiled_prompt_counts_every_tiles_image_tokens(tmp_path: Path) -> None:
    """SmolVLM-256M: 17 tiles of 64 image tokens; its caption prompt measured 1,320 tokens,
    against the 640 the estimate assumed before (a LLaVA image and a question)."""
    from vlmq.models.idefics3 import QUESTION_TOKENS, TILE_MARKERS, Idefics3Adapter

    (tmp_path / "processor_config.json").write_text(json.dumps({
        "image_seq_len": 64, "image_processor": {
            "do_image_splitting": True, "size": {"longest_edge": 2048},
            "max_image_size": {"longest_edge": 512}}}))
    tokens = Idefics3Adapter().prompt_tokens(str(tmp_path))
    assert tokens == 17 * (64 + TILE_MARKERS) + QUESTION_TOKENS
    assert 0.8 * 1320 < tokens <= 1320
    assert Idefics3Adapter().prompt_tokens(str(tmp_path / "absent")) is None


def test_a_decoder_that_cross_attends_the_image_caches_and_projects_its_tokens() -> None:
    """BLIP's decoder reads the image through cross-attention, not its one-token prompt: the
    577 image tokens (576 patches and the class token at 384 pixels) are in its cache and are
    what its key and value projections take."""
    from dataclasses import replace
    from types import SimpleNamespace

    from vlmq.models.blip import BlipAdapter

    vision = SimpleNamespace(image_size=384, patch_size=16)
    assert BlipAdapter().cross_attention_tokens(SimpleNamespace(vision_config=vision)) == 577
    shape = replace(SHAPE, linear_shapes={"text": ((768, 768),)})
    int8 = VariantCost("int8", 8, ("text",), 4, False, kernel=KernelTransit(per_input=7.0))
    alone, crossing = (estimate(shape, int8, Workload(prompt_tokens=1, new_tokens=1,
                                                      cross_tokens=n)) for n in (0, 577))
    kv = 577 * SHAPE.kv_token_elements * 4
    assert crossing.run_peak_bytes - alone.run_peak_bytes == kv + (577 - 1) * 7 * 768


def test_a_cast_holds_the_tensor_as_read_and_a_read_in_its_own_dtype_holds_nothing() -> None:
    """Qwen2.5-VL-3B int8 (bfloat16 read for bfloat16): its 622 MiB embedding needs no copy."""
    same = VariantCost("int8", 8, ALL, 2, False, casts=False)
    cast = VariantCost("int8", 8, ALL, 2, False, casts=True)
    small = {**SHAPE.largest_linear, "text": 1_000_000}
    from dataclasses import replace

    shape = replace(SHAPE, largest_linear=small)  # the read, not the quantizer, is the larger
    one, other = (estimate(shape, c, Workload()) for c in (same, cast))
    assert one.load_peak_bytes == one.weights_bytes + 1_000_000 * 15
    assert other.load_peak_bytes == other.weights_bytes + 131_000_000 * 2


def test_a_kernel_adds_its_per_token_temporaries_at_its_most_demanding_layer() -> None:
    """bitsandbytes int8 on SmolVLM-256M's vision MLP over 17 tiles: 7 bytes per input and 16
    per output feature of each of the 17,408 patches; the larger of fc1 and fc2 counts."""
    from dataclasses import replace

    shape = replace(SHAPE, vision_patches=1024, vision_width=768 + 3072, vision_heads=12,
                    linear_shapes={"vision": ((768, 3072), (3072, 768))})
    plain = VariantCost("int8", 8, ALL, 2, False)
    int8 = replace(plain, kernel=KernelTransit(per_input=7.0, per_output=16.0))
    work = Workload(image_tiles=17)
    grown = estimate(shape, int8, work).run_peak_bytes - estimate(shape, plain, work).run_peak_bytes
    fc1, fc2 = 768 * 7 + 3072 * (16 - 2), 3072 * 7 + 768 * (16 - 2)
    assert grown == 17 * 1024 * max(fc1, fc2)


def test_a_kernel_that_keeps_a_block_per_call_leaves_one_set_per_layer_in_the_heap() -> None:
    """LLM.int8 with outliers keeps each call's outlier columns after its float16 input copy,
    the copy's absolute values and the outlier mask: one such set per layer stays in glibc's
    heap, at the input width most of the layer's calls take, for each temporary under the
    heap threshold (SmolVLM-256M's 12 vision layers over 17 tiles: 5 x 17,408 x 768 bytes
    each). Above the threshold a temporary is mapped and given back; without a kept block,
    or without glibc's heap, nothing is added."""
    from dataclasses import replace

    shape = replace(SHAPE, vision_patches=1024,
                    linear_shapes={"vision": ((768, 3072), (3072, 768))},
                    part_layers={"vision": 12}, common_input={"vision": 768})
    plain = VariantCost("int8", 8, ("vision",), 2, False,
                        kernel=KernelTransit(per_input=7.0, per_output=16.0))
    kept = replace(plain, kernel=replace(plain.kernel, before_kept=(2.0, 2.0, 1.0)))

    def added(work: Workload) -> int:
        return (estimate(shape, kept, work).run_peak_bytes
                - estimate(shape, plain, work).run_peak_bytes)

    tokens = 17 * 1024
    assert added(Workload(image_tiles=17)) == 12 * 5 * tokens * 768
    # at a 16 MiB threshold the two 2-byte copies (25.5 MiB each) are mapped; the mask is not
    assert added(Workload(image_tiles=17, heap_threshold=16 * MIB)) == 12 * tokens * 768
    assert added(Workload(image_tiles=17, heap_threshold=0)) == 0
    # one tile of 1,024 patches: the common width's set only
    assert added(Workload()) == 12 * 5 * 1024 * 768


def test_layers_and_the_common_input_width_are_counted_per_part() -> None:
    """Blocks are the numbered modules a part's Linear layers sit in (`layers.3`); the common
    input width is the one most of them take (attention and up-projections)."""
    loaded = load_variant("llava-tiny", "fp32", measure_disk=False)
    try:
        shape = _shape_of(loaded)
        model = loaded.model
        text = model.config.get_text_config()
        assert shape.part_layers["text"] == text.num_hidden_layers
        assert shape.common_input["text"] == text.hidden_size
        assert shape.part_layers["vision"] == model.config.vision_config.num_hidden_layers
    finally:
        unload(loaded)

    from vlmq.variants.registry import VARIANTS
    from vlmq.variants.settings import VariantSettings

    assert VARIANTS.get("int8").kernel_transit("cpu", "bfloat16").before_kept == (2.0, 2.0, 1.0)
    assert VARIANTS.get("int8").kernel_transit(
        "cpu", "bfloat16", VariantSettings(int8_threshold=0)).before_kept == ()


def test_a_dequantizing_kernel_holds_a_copy_of_its_largest_weight_per_call() -> None:
    from dataclasses import replace

    shape = replace(SHAPE, linear_shapes={"text": ((4096, 4096), (4096, 11008))})
    plain = VariantCost("hqq-int4", 4.5, ALL, 4, True)
    hqq = replace(plain, kernel=KernelTransit(per_weight=12))
    grown = (estimate(shape, hqq, Workload()).run_peak_bytes
             - estimate(shape, plain, Workload()).run_peak_bytes)
    assert grown == 12 * 4096 * 11008


def test_a_repacked_layouts_larger_scales_are_part_of_the_weights() -> None:
    """bitsandbytes 4-bit on CPU repacks at load, its scales in bfloat16: 1/8 bit more per
    quantized weight at rest, nothing more while running."""
    from dataclasses import replace

    plain = VariantCost("nf4", 4.125, ("text",), 2, False)
    nf4 = replace(plain, kernel=KernelTransit(extra_bits=0.125))
    base, repacked = estimate(SHAPE, plain, Workload()), estimate(SHAPE, nf4, Workload())
    grown = repacked.weights_bytes - base.weights_bytes
    assert grown == pytest.approx(6_476_000_000 * 0.125 / 8, abs=4)
    assert repacked.run_peak_bytes - base.run_peak_bytes == grown


def test_a_classifier_keeps_no_cache_and_runs_its_patches_once() -> None:
    loaded = load_variant("vit-tiny", "fp32", measure_disk=False)
    try:
        est = loaded.memory_estimate
        generating = estimate(_shape_of(loaded), _cost("fp32", 0, 4), Workload())
        assert est.run_peak_bytes < generating.run_peak_bytes
    finally:
        unload(loaded)


def _shape_of(loaded: object) -> ModelShape:
    from vlmq.loading import _plan
    from vlmq.variants.base import VariantSettings

    return _plan(loaded.name, "fp32", "cpu", VariantSettings(), "sdpa").shape


def test_each_backend_states_the_transit_measured_for_its_cpu_kernel() -> None:
    from vlmq.variants.registry import VARIANTS

    int8 = VARIANTS.get("int8").kernel_transit("cpu", "bfloat16")
    assert (int8.per_input, int8.per_output) == (7.0, 16.0)
    assert VARIANTS.get("quanto-int8").kernel_transit("cpu", "float32").per_weight == 8
    # the fused bfloat16 kernel: no weight copy, its result and the rescaled copy per output
    assert VARIANTS.get("quanto-int8").kernel_transit("cpu", "bfloat16") == KernelTransit(
        per_output=4.0)
    assert VARIANTS.get("torchao-int8").kernel_transit("cpu", "float32").per_weight == 4
    from bitsandbytes.functional import has_avx512bf16

    if has_avx512bf16():  # the fused bfloat16 kernel: 6 bytes per input and output feature
        nf4 = VARIANTS.get("nf4").kernel_transit("cpu", "bfloat16")
        assert (nf4.per_input, nf4.per_output) == (6, 6)
        nf4 = VARIANTS.get("nf4").kernel_transit("cpu", "float32")
        assert (nf4.per_input, nf4.per_output) == (2, 6)


# Run in a fresh interpreter (allocations of the process's other threads and libraries count
# in its RSS; in the full suite nf4 read 18.3 bytes per weight): what quantizing one 4096 x 1024
# float32 weight to 4 bits holds on CPU, per weight element, for nf4 and fp4.
_QUANTIZE_4BIT = """
import bitsandbytes, torch
from vlmq.measure.memory import PeakMemory, large_frees_returned
weight = torch.randn(4096, 1024)
for name in ("nf4", "fp4"):
    torch.ops.bitsandbytes.quantize_4bit(weight[:64], 64, name, torch.uint8)  # its setup
    # every temporary of this size is mapped on its own and returned when freed
    with large_frees_returned(), PeakMemory("cpu") as mem:
        torch.ops.bitsandbytes.quantize_4bit(weight, 64, name, torch.uint8)
    print(mem.result.growth_bytes / weight.numel())
"""


def test_fp4s_load_time_quantizer_holds_more_than_nf4s_and_the_estimate_says_so() -> None:
    """Measured here, not assumed: quantizing as bitsandbytes does on CPU holds at most what
    the variant states, and fp4 (its int64 index remap) holds more than nf4; the estimate's
    load peak follows the stated bytes."""
    import os
    import subprocess
    import sys

    import torch

    from vlmq.fit import variant_cost
    from vlmq.loading import read_config
    from vlmq.variants.registry import VARIANTS

    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", _QUANTIZE_4BIT], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONPATH": root}).stdout
    held = dict(zip(("nf4", "fp4"), map(float, out.split()), strict=True))
    for name, bytes_per_weight in held.items():
        assert bytes_per_weight <= VARIANTS.get(name).quantize_transit("cpu"), held
    assert held["fp4"] > held["nf4"] + 8, held
    config = read_config(resolve_source("llava-tiny"))
    fp4, nf4 = (variant_cost(VARIANTS.get(n), config, torch.bfloat16, "cpu")
                for n in ("fp4", "nf4"))
    assert fp4.quantize_bytes - nf4.quantize_bytes == 14
    on_gpu = {VARIANTS.get(n).quantize_transit("cuda") for n in ("fp4", "nf4")}
    assert len(on_gpu) == 1
    assert (estimate(SHAPE, fp4, Workload()).load_peak_bytes
            - estimate(SHAPE, nf4, Workload()).load_peak_bytes) == 14 * 45_000_000


def test_the_refusal_names_estimate_and_limit() -> None:
    est = estimate(SHAPE, _cost("fp32", 0, 4), Workload())
    assert does_not_fit(est, None, "x") is None
    assert does_not_fit(est, est.peak_bytes, "x") is None
    line = does_not_fit(est, 16 * 2**30, "this machine (available RAM)")
    assert line and "fp32 needs about" in line and "16,384 MiB" in line and "\n" not in line
    assert (available_ram_bytes() or 0) > 0


def test_sizes_parse_in_accelerates_units() -> None:
    assert size_bytes("2GiB") == 2 * 2**30
    assert size_bytes("512MB") == 512 * 10**6
    assert size_bytes("1000") == 1000
    with pytest.raises(VlmqError, match="not a size"):
        size_bytes("lots")


def test_estimate_of_the_weights_matches_the_loaded_footprint() -> None:
    for variant in ("fp32", "nf4"):
        loaded = load_variant("llava-tiny", variant, measure_disk=False)
        try:
            est = loaded.memory_estimate
            assert est.weights_bytes == pytest.approx(loaded.footprint_bytes, rel=0.05)
        finally:
            unload(loaded)


def test_layers_kept_in_full_precision_are_estimated_in_it() -> None:
    """keep= (and the layers whose shape a kernel cannot run, kept the same way) leaves Linear
    layers unquantized: the estimate counts them at the unquantized dtype."""
    loaded = load_variant("llava-tiny", "nf4+keep=text:0,1", measure_disk=False)
    try:
        assert loaded.kept_modules
        est = loaded.memory_estimate
        assert est.weights_bytes == pytest.approx(loaded.footprint_bytes, rel=0.05)
    finally:
        unload(loaded)


def test_a_baseline_that_does_not_fit_names_one_that_would() -> None:
    loaded = load_variant("llava-tiny", "fp32", measure_disk=False)
    fp32 = loaded.memory_estimate.peak_bytes
    unload(loaded)
    with pytest.raises(DoesNotFit) as info:  # refused before loading
        load_variant("llava-tiny", "fp32", max_memory={"cpu": str(fp32 - 2**20)})
    msg = str(info.value)
    assert "llava-tiny as fp32" in msg and "--vlmq-max-memory cpu" in msg
    assert "--vlmq-baseline bf16 would fit" in msg or "--vlmq-baseline fp16 would fit" in msg


@pytest.fixture(scope="module")
def synthetic_tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    """llava-tiny marked synthetic: speed only, so nf4 runs without an fp32 baseline, as a
    `vlmq synth` folder does at full size."""
    folder = tmp_path_factory.mktemp("fit") / "llava-tiny-synthetic"
    shutil.copytree(resolve_source("llava-tiny"), folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, SYNTHETIC_KEY: True}))
    return str(folder)


def test_under_the_fp32_estimate_fp32_is_refused_and_nf4_runs(synthetic_tiny: str,
                                                             tmp_path: Path) -> None:
    """The issue's check at small scale: `--vlmq-variants fp32,nf4` with a memory limit between
    the two estimates skips fp32 with its estimate before loading, and nf4 loads and runs."""
    peaks = {}
    work = Workload(batch=1, new_tokens=4, prompt_tokens=_caption_prompt(synthetic_tiny),
                    prompt_measured=True)
    for variant in ("fp32", "nf4"):  # the batch the run below sizes: 1 sample, 4 new tokens
        loaded = load_variant(synthetic_tiny, variant, measure_disk=False, workload=work)
        peaks[variant] = loaded.memory_estimate.peak_bytes
        unload(loaded)
    limit = (peaks["fp32"] + peaks["nf4"]) // 2
    out = tmp_path / "bench.json"
    proc = run_bench("--vlmq-model", synthetic_tiny, "--vlmq-variants", "fp32,nf4",
                     "--vlmq-tasks", "caption", "--vlmq-samples", "2", "--vlmq-batch-size", "1",
                     "--vlmq-max-new-tokens", "4", "--vlmq-max-memory", f"cpu={limit}",
                     "--vlmq-reports-dir", str(tmp_path), "--benchmark-json", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "fp32 needs about" in proc.stdout and f"{limit / MIB:,.0f} MiB" in proc.stdout
    entries = json.loads(out.read_text())["benchmarks"]
    ran = {e["params"]["variant"]: e["extra_info"] for e in entries}
    assert set(ran) == {"nf4"}
    metrics = ran["nf4"]["metrics"]
    assert metrics["memory_estimate_mib"]["value"] == pytest.approx(peaks["nf4"] / MIB)
    assert metrics["steady_memory_mib"]["value"] is not None


def _caption_prompt(model: str) -> int:
    """The prompt a caption run sizes its estimate with: its first batch's, measured."""
    from vlmq.data.loading import load_task_dataset
    from vlmq.loading import adapter_for, read_config
    from vlmq.session.first_batch import longest_first_batch_prompt
    from vlmq.tasks import make_task

    task = make_task("caption")
    data = load_task_dataset(task.default_dataset, task.layout_kind)
    source = resolve_source(model)
    prompt = longest_first_batch_prompt(adapter_for(read_config(source)), source,
                                        [(task, data)], 1)
    assert prompt
    return prompt


def test_a_run_sizes_its_estimate_with_its_first_batchs_prompt(synthetic_tiny: str,
                                                                tmp_path: Path) -> None:
    """The entry's estimate is the one for the prompt its first batch measured (the caption
    prompt with llava-tiny's image tokens), not the 640 tokens the estimate assumes without."""
    out = tmp_path / "bench.json"
    proc = run_bench("--vlmq-model", synthetic_tiny, "--vlmq-variants", "fp32",
                     "--vlmq-tasks", "caption", "--vlmq-samples", "1", "--vlmq-batch-size", "1",
                     "--vlmq-max-new-tokens", "4", "--vlmq-reports-dir", str(tmp_path),
                     "--benchmark-json", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    info = json.loads(out.read_text())["benchmarks"][0]["extra_info"]
    prompt = _caption_prompt(synthetic_tiny)
    assert prompt != Workload().prompt_tokens
    assert info["vlmq"]["prompt_tokens"] == pytest.approx(prompt, abs=1)
    loaded = load_variant(synthetic_tiny, "fp32", measure_disk=False, workload=Workload(
        batch=1, new_tokens=4, prompt_tokens=prompt, prompt_measured=True))
    expected = loaded.memory_estimate.peak_bytes / MIB
    unload(loaded)
    assert info["metrics"]["memory_estimate_mib"]["value"] == pytest.approx(expected)


def test_calibration_counts_the_float32_model_apart_from_the_measured_peak() -> None:
    from dataclasses import replace

    plain = VariantCost("gptq-w4a16", 4.125, ("text",), 2, False)
    est = estimate(SHAPE, replace(plain, calibrates=True), Workload())
    assert est.peak_bytes == estimate(SHAPE, plain, Workload()).peak_bytes  # what entries read
    assert est.calibration_bytes > SHAPE.params * 4 > est.peak_bytes
    assert est.needed_bytes == est.calibration_bytes
    line = does_not_fit(est, SHAPE.params * 3, "this machine (available RAM)")
    assert line and "calibrating the float32 model first" in line


def test_a_calibrated_variant_that_cannot_calibrate_here_is_refused_before_calibrating(
        monkeypatch) -> None:
    from vlmq.variants.calibrated import Calibrated

    def never(*args, **kwargs):
        raise AssertionError("calibrated although it does not fit")

    monkeypatch.setattr(Calibrated, "before_load", never)
    with pytest.raises(DoesNotFit, match="calibrating the float32 model first"):
        load_variant("llava-tiny", "autoround-w4a16", measure_disk=False,
                     max_memory={"cpu": "20MiB"})


def test_a_calibrated_recipe_is_estimated_as_the_dense_model_it_runs() -> None:
    """In process, a calibrated recipe holds its dequantized weights in the model's dtype (its
    kernel note says so): BLIP's gptq and autoround entries measured the float32 footprint."""
    import torch

    from vlmq.fit import variant_cost
    from vlmq.loading import read_config, resolve_source
    from vlmq.variants.registry import VARIANTS

    config = read_config(resolve_source("llava-tiny"))
    gptq = variant_cost(VARIANTS.get("gptq-w4a16"), config, torch.float32, "cpu")
    fp32 = variant_cost(VARIANTS.get("fp32"), config, torch.float32, "cpu")
    assert (gptq.bits, gptq.quantizes, gptq.calibrates) == (fp32.bits, (), True)
