"""Every variant loads a tiny real-architecture LLaVA and quantizes exactly the parts it names."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers
from transformers import (
    BlipConfig,
    BlipForConditionalGeneration,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
)

from vlmq.errors import VlmqError
from vlmq.variants import VARIANTS, Variant, VariantSettings
from vlmq.variants.bnb_4bit import compute_dtype
from vlmq.variants.inspect import check_counts, count_linears, part_of, quantized_test
from vlmq.variants.registry import backends, chosen_variants

logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
transformers.logging.set_verbosity_error()
transformers.logging.disable_progress_bar()

IMAGE_TOKEN = 255
LLAVA_PARTS = {
    "vision": ["model.vision_tower"], "projector": ["model.multi_modal_projector"],
    "text": ["model.language_model"], "head": ["lm_head"],
}
BLIP_HEAD = "text_decoder.cls.predictions.decoder"
BLIP_PARTS = {"vision": ["vision_model"], "text": ["text_decoder"], "head": [BLIP_HEAD]}


def parts_of(model: Any, wanted: dict[str, list[str]]) -> dict[str, list[str]]:
    """The test's stand-in for an adapter: keep the paths that exist in `model`."""
    names = {n for n, _ in model.named_modules()}
    missing = [p for paths in wanted.values() for p in paths if p not in names]
    assert not missing, f"module paths missing from the model: {missing}"
    return wanted


@pytest.fixture(scope="module")
def llava_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer CLIP + 2-layer Llama LLaVA (hidden 64) saved with save_pretrained."""
    vision = CLIPVisionConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=2, image_size=32, patch_size=8)
    text = LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=2, vocab_size=256,
                       max_position_embeddings=128)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_TOKEN)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("llava")
    LlavaForConditionalGeneration(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def blip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = BlipConfig(
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=2, image_size=32, patch_size=8),
        text_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=2, vocab_size=256, encoder_hidden_size=64,
                         bos_token_id=1, pad_token_id=0, sep_token_id=2, eos_token_id=2),
    )
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("blip")
    BlipForConditionalGeneration(config).save_pretrained(path)
    return path


def load(model_cls: Any, path: Path, variant: Variant, wanted: dict[str, list[str]],
         settings: VariantSettings | None = None) -> tuple[Any, dict[str, list[str]]]:
    """Load `path` the way the harness does: from_pretrained kwargs, then post_load."""
    reason = variant.unavailable_reason("cpu")
    if reason:
        pytest.skip(reason)
    settings = settings or VariantSettings()
    # Parts are resolved on a plain fp32 load: quantized loads have the same module paths.
    parts = parts_of(model_cls.from_pretrained(path), wanted)
    model = model_cls.from_pretrained(path, **variant.load_kwargs(parts, settings, "cpu")).eval()
    variant.post_load(model, parts, settings, "cpu")
    return model, parts


def llava_generate(model: Any, tokens: int = 3) -> list[int]:
    # bitsandbytes places a quantized model on the GPU where there is one: inputs follow it
    ids = torch.tensor([[1] + [IMAGE_TOKEN] * 16 + [5, 6, 7]], device=model.device)
    pixels = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             pixel_values=pixels.to(model.device, model.dtype),
                             max_new_tokens=tokens,
                             min_new_tokens=tokens, do_sample=False, pad_token_id=0)
    return out[0, ids.shape[1]:].tolist()


def test_registered_variants_keep_the_invariants() -> None:
    """Whatever is registered: bits known, the head never targeted, full precision first and
    bits never rising down the list, a recipe per name and a description for the docs."""
    names = VARIANTS.names()
    assert names and len(set(names)) == len(names)
    assert [VARIANTS.get(n).bits for n in names] == sorted(
        (VARIANTS.get(n).bits for n in names), reverse=True)
    for name in names:
        v = VARIANTS.get(name)
        assert v.name == name and v.description
        assert v.bits in (0, 2, 3, 4, 8, 16, 32)
        assert "head" not in v.quantizes
        assert set(v.quantizes) <= {"vision", "projector", "text"}
        assert v.save in ("save_pretrained", "torch.save", "")
        assert set(v.devices) <= {"cpu", "cuda"}
    # vlmq's own entry points are read: every shipped backend file registered something
    assert {"fp32", "int8", "nf4", "dynamic-int8", "torchao-int4", "torchao-float8",
            "torchao-float8-dynamic"} <= set(names)


def test_entry_point_modules_are_vlmq_variant_files() -> None:
    """Every in-repo variant file is listed as an entry point (a file without its line would
    silently never register)."""
    from importlib.metadata import entry_points

    root = Path(__file__).resolve().parents[1] / "vlmq" / "variants"
    listed = {ep.value for ep in entry_points(group="vlmq.variants")
              if ep.value.startswith("vlmq.")}
    helpers = {"__init__", "base", "inspect", "keep", "prepare", "registry", "settings",
               "targets", "calibrated", "grid", "act_quant", "llmcompressed"}
    files = {f"vlmq.variants.{p.stem}" for p in root.glob("*.py") if p.stem not in helpers}
    assert files == listed


# every recipe that quantizes a plain checkpoint, by default in the main job or not; as-saved
# (bits 0: read from a quantized checkpoint) has tests/test_as_saved.py, and the recipes that
# calibrate a checkpoint before loading (before_load) have tests/test_calibration.py
RECIPES = [n for n in VARIANTS.names() if VARIANTS.get(n).bits
           and type(VARIANTS.get(n)).before_load is Variant.before_load]


@pytest.mark.parametrize("name", RECIPES)
def test_variant_quantizes_exactly_its_parts(llava_dir: Path, name: str) -> None:
    variant = VARIANTS.get(name)
    model, parts = load(LlavaForConditionalGeneration, llava_dir, variant, LLAVA_PARTS)
    counts = count_linears(model, parts, quantized_test(backends()))
    assert check_counts(name, variant.quantizes, counts) is None
    # the tiny model has Linear layers in every part, so "none quantized" cannot pass
    assert all(counts[p]["linear"] > 0 for p in parts)
    assert counts["head"]["quantized"] == 0
    if name == "int8-text":
        assert counts["vision"]["quantized"] == counts["projector"]["quantized"] == 0
    if name == "int8-vision":
        assert counts["text"]["quantized"] == 0
    assert len(llava_generate(model)) == 3


def test_precision_variants_set_the_dtype(llava_dir: Path) -> None:
    for name, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        model, _ = load(LlavaForConditionalGeneration, llava_dir, VARIANTS.get(name), LLAVA_PARTS)
        assert {p.dtype for p in model.parameters()} == {dtype}


@pytest.mark.parametrize("name", ["int8", "dynamic-int8", "torchao-int8", "hqq-int4",
                                  "quanto-int8"])
def test_keep_modules_stay_in_full_precision(llava_dir: Path, name: str) -> None:
    kept = ("model.language_model.layers.0.mlp.down_proj", "model.vision_tower.encoder.layers.1")
    settings = VariantSettings(keep_modules=kept)
    variant = VARIANTS.get(name)
    model, parts = load(LlavaForConditionalGeneration, llava_dir, variant, LLAVA_PARTS, settings)
    counts = count_linears(model, parts, quantized_test(backends()))
    # one text Linear plus the 6 Linear layers of vision layer 1
    assert check_counts(name, variant.quantizes, counts, kept=7) is None
    assert type(model.get_submodule(kept[0])) is torch.nn.Linear


def test_int8_skip_list_names_full_paths() -> None:
    skip = VARIANTS.get("int8-text").load_kwargs(LLAVA_PARTS, VariantSettings(), "cpu")[
        "quantization_config"].llm_int8_skip_modules
    assert sorted(skip) == ["lm_head", "model.multi_modal_projector", "model.vision_tower"]


@pytest.mark.parametrize("name", ["int8", "nf4", "dynamic-int8", "torchao-int8", "hqq-int8",
                                  "quanto-int4"])
def test_blip_nested_head_is_left_alone(blip_dir: Path, name: str) -> None:
    """BLIP's head lives inside the text decoder; it must count as head and stay unquantized
    (quantizing it breaks the tied weights in generate)."""
    variant = VARIANTS.get(name)
    model, parts = load(BlipForConditionalGeneration, blip_dir, variant, BLIP_PARTS)
    counts = count_linears(model, parts, quantized_test(backends()))
    assert counts["head"] == {"linear": 1, "quantized": 0}
    assert check_counts(name, variant.quantizes, counts) is None
    with torch.inference_mode():
        pixels = torch.randn(1, 3, 32, 32).to(model.device, model.dtype)
        out = model.generate(pixel_values=pixels, max_new_tokens=3)
    assert out.shape[1] > 1


def test_part_of_prefers_the_most_specific_path() -> None:
    assert part_of(BLIP_HEAD, BLIP_PARTS) == "head"
    assert part_of("text_decoder.bert.encoder.layer.0", BLIP_PARTS) == "text"
    assert part_of("text_decoder_x.y", BLIP_PARTS) == "other"


def test_unavailable_reasons() -> None:
    reason = VARIANTS.get("dynamic-int8").unavailable_reason("cuda")
    assert reason and "cpu" in reason
    missing = Variant(name="x", bits=8, packages=("no_such_package_vlmq",))
    assert "no_such_package_vlmq" in (missing.unavailable_reason("cpu") or "")


def test_4bit_compute_dtype_setting() -> None:
    assert compute_dtype("auto", "cpu") == torch.float32
    assert compute_dtype("auto", "cuda") == torch.float16
    assert compute_dtype("bfloat16", "cpu") == torch.bfloat16
    with pytest.raises(VlmqError, match="bnb_4bit_compute_dtype 'int3' is not one of auto, "):
        VariantSettings(bnb_4bit_compute_dtype="int3")
    config = VARIANTS.get("fp4").load_kwargs(
        LLAVA_PARTS, VariantSettings(bnb_4bit_double_quant=False), "cpu")["quantization_config"]
    assert config.bnb_4bit_quant_type == "fp4" and not config.bnb_4bit_use_double_quant


def test_int8_threshold_setting() -> None:
    config = VARIANTS.get("int8").load_kwargs(
        LLAVA_PARTS, VariantSettings(int8_threshold=0.0), "cpu")["quantization_config"]
    assert config.llm_int8_threshold == 0.0


def test_the_default_set_is_one_recipe_per_backend_and_precision() -> None:
    default = chosen_variants([])
    assert {"fp32", "int8", "int8-text", "int8-vision", "nf4", "hqq-int4", "quanto-int4",
            "dynamic-int8"} <= set(default)  # the seeds' ones and every CPU backend
    assert not {"fp4", "nf4-text", "torchao-int8", "as-saved"} & set(default)
    assert chosen_variants(["all"]) == VARIANTS.names()
    assert chosen_variants(["nf4", "fp4"]) == ["nf4", "fp4"]


def test_nf4_on_cpu_keeps_linears_its_kernel_cannot_pack() -> None:
    # SmolVLM-Instruct's vision MLP: fc1 1,152 -> 4,304 (output width), fc2 4,304 -> 1,152 (input)
    model = torch.nn.Module()
    model.tower = torch.nn.ModuleDict({"fc1": torch.nn.Linear(1152, 4304),
                                       "fc2": torch.nn.Linear(4304, 1152),
                                       "ok": torch.nn.Linear(1152, 1152)})
    nf4 = VARIANTS.get("nf4")
    parts = {nf4.quantizes[0]: ["tower"]}
    assert nf4.unsupported_layers(model, parts, "cpu") == ["tower.fc1", "tower.fc2"]
    assert nf4.unsupported_layers(model, parts, "cuda") == []


def _first_4bit_layer_output(x: torch.Tensor) -> tuple[torch.Tensor, bool, int]:
    """llava-tiny in nf4 on CPU: the first 4-bit layer's output for `x`, whether every 4-bit
    weight was in the CPU layout before that call, and how many a second repack finds."""
    from vlmq.loading import load_variant, unload
    from vlmq.variants import bnb_4bit

    loaded = load_variant("llava-tiny", "nf4")  # the disk size saves the model: before the
    try:  # repack, which saving would undo
        layers = [m for m in loaded.model.modules()
                  if type(getattr(m, "weight", None)).__name__ == "Params4bit"]
        packed = bool(layers) and all(
            getattr(m.weight.quant_state, "packing_format_for_cpu", False) for m in layers)
        with torch.inference_mode():
            out = layers[0](x[:, :layers[0].in_features])
        return out, packed, bnb_4bit._repack_for_cpu(loaded.model)
    finally:
        unload(loaded)


def test_nf4_on_cpu_is_repacked_while_loading_as_its_first_call_would(monkeypatch) -> None:
    """The CPU kernel's layout is made at load (its transit in the load peak, freed memory
    handed back), and gives the outputs bitsandbytes' own first-call repack gives."""
    from bitsandbytes.functional import has_avx512bf16

    from vlmq.variants import bnb_4bit

    if not has_avx512bf16():
        pytest.skip("bitsandbytes repacks 4-bit weights only for AVX-512 BF16 CPUs")
    x = torch.randn(3, 4096)
    at_load, packed, left = _first_4bit_layer_output(x)
    assert packed and left == 0
    assert VARIANTS.get("nf4").spreads  # quantized while loading, only repacked after
    monkeypatch.setattr(bnb_4bit, "_repack_for_cpu", lambda model: 0)
    lazily, packed, _ = _first_4bit_layer_output(x)  # bitsandbytes repacks on this call
    assert not packed
    torch.testing.assert_close(at_load, lazily, rtol=0, atol=0)


def _biases_replaced_by_first_call() -> tuple[int, int]:
    """llava-tiny in nf4 on CPU, its biases in bfloat16 as a 16-bit checkpoint loads them, then
    the load's last step (`finish_load`): (4-bit layers with a bias, how many of those biases
    the first call of each layer replaced)."""
    from vlmq.loading import load_variant, unload

    loaded = load_variant("llava-tiny", "nf4", measure_disk=False)
    try:
        layers = [m for m in loaded.model.modules()
                  if type(getattr(m, "weight", None)).__name__ == "Params4bit"
                  and m.bias is not None]
        for m in layers:
            m.bias.data = m.bias.data.to(torch.bfloat16)
        VARIANTS.get("nf4").finish_load(loaded.model, "cpu")
        before = [m.bias.data_ptr() for m in layers]
        with torch.inference_mode():
            for m in layers:
                m(torch.randn(2, m.in_features))
        return len(layers), sum(m.bias.data_ptr() != p for m, p in zip(layers, before,
                                                                       strict=True))
    finally:
        unload(loaded)


def test_nf4_on_cpu_casts_its_biases_while_loading_as_its_first_call_would(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A bias the first call casts is a small block kept among that call's temporaries (the
    heap behind it stays resident): loading casts them instead, so no call replaces one."""
    from vlmq.variants import bnb_4bit

    layers, replaced = _biases_replaced_by_first_call()
    assert layers and replaced == 0
    monkeypatch.setattr(bnb_4bit, "_cast_biases", lambda model: 0)
    assert _biases_replaced_by_first_call() == (layers, layers)


def test_a_variants_libraries_are_imported_before_its_load_is_measured() -> None:
    import subprocess
    import sys

    code = ("import sys; from vlmq.loading import import_backend; "
            "import_backend('fp32', 'cpu'); a = 'bitsandbytes' in sys.modules; "
            "import_backend('nf4+keep=text:0', 'cpu'); print(a, 'bitsandbytes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]


def test_the_variants_last_loading_step_counts_in_its_load_time(monkeypatch) -> None:
    """finish_load (the 4-bit CPU repack) runs after the disk size, outside the timed
    from_pretrained, yet it is loading's work: load_time_s and load_cpu_s include it."""
    import time

    from vlmq.loading import load_variant, unload
    from vlmq.variants.base import Variant

    def slow_finish(self, model, device_type) -> None:
        end = time.process_time() + 0.4  # busy, so that CPU time counts it too
        while time.process_time() < end:
            pass

    monkeypatch.setattr(Variant, "finish_load", slow_finish)
    loaded = load_variant("llava-tiny", "fp32", measure_disk=False)
    try:
        assert loaded.load_time_s >= 0.4 and loaded.load_cpu_s >= 0.4
    finally:
        unload(loaded)


def test_quanto_int8_keeps_the_widths_torchs_fused_cpu_kernel_crashes_on() -> None:
    # Qwen2.5-VL-3B's vision MLP: down_proj takes 3,420 features (a multiple of 4, not of 16)
    from types import SimpleNamespace

    model = torch.nn.Module()
    model.config = SimpleNamespace(dtype="bfloat16")
    model.tower = torch.nn.ModuleDict({"down": torch.nn.Linear(3420, 64),
                                       "odd": torch.nn.Linear(1001, 64),  # dense path anyway
                                       "ok": torch.nn.Linear(1024, 64)})
    quanto = VARIANTS.get("quanto-int8")
    parts = {quanto.quantizes[0]: ["tower"]}
    assert quanto.unsupported_layers(model, parts, "cpu") == ["tower.down"]
    assert quanto.unsupported_layers(model, parts, "cuda") == []
    int4 = VARIANTS.get("quanto-int4")
    assert int4.unsupported_layers(model, parts, "cpu") == []
    # its gate/up projections: 1,280 -> 3,420, in groups of 128, for TinyGemm's 16-wide packing
    model.tower["up"] = torch.nn.Linear(1280, 3420)
    assert int4.unsupported_layers(model, parts, "cpu") == ["tower.up"]
    model.config.dtype = "float32"  # float32 activations take quanto's dequantizing path
    assert quanto.unsupported_layers(model, parts, "cpu") == []
    assert int4.unsupported_layers(model, parts, "cpu") == []


@pytest.mark.parametrize("width", [1024, 1004])
def test_torchs_fused_int8_weight_cpu_matmul_runs_only_on_widths_of_16(width: int) -> None:
    """The reason for INT8PACK_WIDTH, checked in a child process (it crashes): when a torch
    release fixes the kernel, this fails and the kept layers can go."""
    import subprocess
    import sys

    from vlmq.variants.quanto import INT8PACK_WIDTH

    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    if "avx512f" not in flags:
        pytest.skip("the crash was measured on an AVX-512 CPU (2026-12-07, torch 2.13)")
    code = (f"import torch; x = torch.randn(4, {width}, dtype=torch.bfloat16); "
            f"w = torch.randint(-127, 127, (64, {width}), dtype=torch.int8); "
            f"torch._weight_int8pack_mm(x, w, torch.rand(64, dtype=torch.bfloat16))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert (run.returncode == 0) == (width % INT8PACK_WIDTH == 0)


def test_quantos_int4_cpu_packing_refuses_outputs_not_in_16s() -> None:
    """The reason for TINYGEMM_OUTPUTS: when quanto or torch accepts the shape, this fails and
    the kept layers can go."""
    pytest.importorskip("optimum.quanto")
    import optimum.quanto as quanto

    model = torch.nn.Sequential(torch.nn.Linear(1280, 3420)).to(torch.bfloat16)
    quanto.quantize(model, weights=quanto.qint4)
    with pytest.raises(RuntimeError, match="dividable by 16"), torch.inference_mode():
        quanto.freeze(model)
