"""The llm-compressor variants (gptq-w4a16, smoothquant-w8a8): their recipes, cache key, venv
and subprocess wiring, and the simulated int8 inputs. The real calibration needs the venv
(`python -m vlmq.variants.prepare --llmcompressor`) and is the slow test at the end."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch  # noqa: E402

import vlmq.variants.gptq_w4a16  # noqa: E402, F401
import vlmq.variants.smoothquant_w8a8  # noqa: E402, F401
from vlmq.calibration import venv  # noqa: E402
from vlmq.calibration.llmcompressor import (  # noqa: E402
    ignore_patterns,
    recipe,
    run_worker,
    smoothed_patterns,
    worker_command,
    worker_env,
)
from vlmq.calibration.settings import CalibrationSettings  # noqa: E402
from vlmq.errors import VlmqError  # noqa: E402
from vlmq.models.llava import ADAPTER  # noqa: E402
from vlmq.variants.base import VariantSettings  # noqa: E402
from vlmq.variants.registry import VARIANTS  # noqa: E402

LLMCOMPRESSED = ("gptq-w4a16", "smoothquant-w8a8")
VISION_Q = "model.vision_tower.vision_model.encoder.layers.0.self_attn.q_proj"
TEXT_Q = "model.language_model.layers.0.self_attn.q_proj"


def _matches(pattern: str, name: str) -> bool:
    return re.match(pattern.removeprefix("re:"), name) is not None


def test_ignore_patterns_keep_every_part_but_the_language_model() -> None:
    ignore = ignore_patterns(ADAPTER.part_candidates, ("text",))
    kept = [VISION_Q, "vision_tower.encoder.layers.0.mlp.fc1", "model.multi_modal_projector",
            "model.multi_modal_projector.linear_1", "lm_head", "language_model.lm_head"]
    for name in kept:
        assert any(_matches(p, name) for p in ignore), name
    for name in (TEXT_Q, "language_model.model.layers.3.mlp.down_proj", "lm_head_extra"):
        assert not any(_matches(p, name) for p in ignore), name


def test_gptq_and_smoothquant_recipes() -> None:
    gptq = recipe("W4A16", ADAPTER.part_candidates, ("text",))
    modifiers = gptq["quant_stage"]["quant_modifiers"]
    assert list(modifiers) == ["GPTQModifier"] and modifiers["GPTQModifier"]["scheme"] == "W4A16"
    assert smoothed_patterns(gptq) == []
    sq = recipe("W8A8", ADAPTER.part_candidates, ("text",), smoothing=0.8)
    modifiers = sq["quant_stage"]["quant_modifiers"]
    assert list(modifiers) == ["SmoothQuantModifier", "GPTQModifier"]  # smoothing comes first
    (balance, smooth), _ = modifiers["SmoothQuantModifier"]["mappings"]
    assert _matches(balance[0], TEXT_Q) and not _matches(balance[0], VISION_Q)
    assert _matches(smooth, "model.language_model.layers.2.input_layernorm")
    assert [re.match(p, "model.language_model.layers.1.post_attention_layernorm") is not None
            for p in smoothed_patterns(sq)] == [False, True]
    json.loads(json.dumps(sq))  # the worker hands it to llm-compressor as JSON (YAML reads it)


def test_smoothquant_stays_out_of_a_vision_tower_that_shares_the_text_models_names() -> None:
    """Qwen2.5-VL's text part may sit at a bare `model` (older layouts), and its vision blocks
    have gate_proj and up_proj too: unscoped, the mapping grouped two decoder norms into one
    set and llm-compressor refused it ("Error resolving mappings", 2026-12-07)."""
    from vlmq.models.qwen2_5_vl import Qwen25VLAdapter

    sq = recipe("W8A8", Qwen25VLAdapter.part_candidates, ("text",), smoothing=0.8)
    _, (balance, smooth) = sq["quant_stage"]["quant_modifiers"]["SmoothQuantModifier"]["mappings"]
    assert _matches(balance[0], "model.language_model.layers.3.mlp.gate_proj")
    assert _matches(balance[0], "model.layers.3.mlp.gate_proj")  # the older layout
    assert not _matches(balance[0], "model.visual.blocks.3.mlp.gate_proj")
    assert _matches(smooth, "model.language_model.layers.3.post_attention_layernorm")


def test_the_variants_are_registered_apart_from_the_default_set() -> None:
    gptq, sq = (VARIANTS.get(n) for n in LLMCOMPRESSED)
    assert (gptq.bits, sq.bits) == (4, 8) and not gptq.by_default and not sq.by_default
    assert gptq.quantizes == sq.quantizes == ("text",)
    assert "dequantized from W4A16" in gptq.kernel("cpu")
    assert "int8 per token" in sq.kernel("cpu") and "dense float32" in sq.kernel("cpu")


def test_cache_key_parts_recipe_and_tool_versions(monkeypatch) -> None:
    settings = VariantSettings(calibration=CalibrationSettings(samples=4))
    gptq, sq = (VARIANTS.get(n) for n in LLMCOMPRESSED)
    one, other = gptq.recipe(settings, ADAPTER), sq.recipe(settings, ADAPTER)
    assert one["llmcompressor"] != other["llmcompressor"]
    assert gptq.recipe(replace(settings, calibration=replace(settings.calibration, seed=1)),
                       ADAPTER)["seed"] == 1
    versions = gptq.tool_versions()
    assert versions["llmcompressor"] == "0.14.0.1" and versions["transformers"] == "5.17.0"
    assert versions["torch"]
    monkeypatch.setattr(venv, "PINS", ("llmcompressor==9.9",))
    assert gptq.tool_versions()["llmcompressor"] == "9.9"


def test_an_absent_or_stale_venv_is_refused_with_the_command(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("VLMQ_CACHE_DIR", str(tmp_path))
    for name in LLMCOMPRESSED:
        reason = VARIANTS.get(name).unavailable_reason("cpu")
        assert reason and "\n" not in reason and venv.BUILD_COMMAND in reason
        assert "not built" in reason
    built = venv.folder()
    built.mkdir(parents=True)
    (built / venv.MARKER).write_text(json.dumps({"pins": ["llmcompressor==0.1"], "torch": "x"}))
    assert "other pins" in VARIANTS.get("gptq-w4a16").unavailable_reason("cpu")
    (built / venv.MARKER).write_text(json.dumps({"pins": list(venv.PINS),
                                                  "torch": venv.main_torch()}))
    assert venv.absent_reason(built) is None


def test_the_venv_is_built_over_the_main_torch() -> None:
    command = venv.install_command(Path("/v"))
    assert command[:4] == ["/v/bin/python", "-m", "pip", "install"]
    assert set(venv.PINS) <= set(command) and f"torch=={venv.main_torch()}" in command
    assert all("==" in p for p in venv.PINS)  # exact pins only


def test_the_worker_command_and_its_failure(tmp_path: Path) -> None:
    assert worker_command(Path("/v/bin/python"), Path("/j.json")) == [
        "/v/bin/python", "-m", "vlmq.calibration.llmcompressor_worker", "/j.json"]
    env = worker_env()
    root = str(Path(venv.__file__).resolve().parent.parent.parent)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == root and env["HF_HUB_OFFLINE"] == "1"
    fake = tmp_path / "python"  # a venv python whose calibration crashes
    fake.write_text("#!/bin/sh\necho 'loading'\necho 'ValueError: no smooth layer' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(VlmqError, match=r"failed \(exit 3\): ValueError: no smooth layer") as e:
        run_worker(fake, {"result": str(tmp_path / "result.json")}, tmp_path)
    assert "\n" not in str(e.value)
    ok = tmp_path / "ok"
    ok.write_text(f"#!{sys.executable}\nimport json, sys\n"
                  f"job = json.load(open(sys.argv[-1]))\n"
                  f"open(job['result'], 'w').write(json.dumps({{'seconds': 1.5}}))\n")
    ok.chmod(0o755)
    assert run_worker(ok, {"result": str(tmp_path / "r.json")}, tmp_path) == {"seconds": 1.5}


def test_int8_per_token_inputs() -> None:
    from vlmq.variants.act_quant import int8_per_token, quantize_inputs_int8_per_token

    x = torch.randn(2, 5, 64) * torch.tensor([1.0, 100.0]).view(2, 1, 1)
    q = int8_per_token(x)
    scale = x.abs().amax(dim=-1, keepdim=True) / 127.5
    assert torch.allclose(q / scale, (q / scale).round(), atol=1e-3)  # on each token's grid
    assert ((q - x).abs() <= scale * 0.501).all()  # the absmax token: 127.5 clamped to 127
    assert torch.equal(int8_per_token(torch.zeros(3, 8)), torch.zeros(3, 8))
    layer = torch.nn.Linear(64, 4)
    plain = layer(x)
    quantize_inputs_int8_per_token(layer)
    assert torch.allclose(layer(x), torch.nn.functional.linear(q, layer.weight, layer.bias))
    assert not torch.equal(layer(x), plain)


def test_short_int8_rows_must_lie_on_one_grid() -> None:
    from vlmq.variants.as_saved import dynamic_int8_inputs
    from vlmq.variants.grid import on_grid

    args = {"type": "int", "num_bits": 8, "strategy": "channel"}
    g = torch.Generator().manual_seed(0)
    dense = torch.randn(2, 192, generator=g)  # under 256 values: the count cannot tell
    int8 = torch.randint(-128, 128, (2, 192), generator=g).float() * 0.0037
    assert on_grid(int8, args) and not on_grid(dense, args)
    assert dynamic_int8_inputs({"input_activations": {
        "type": "int", "num_bits": 8, "dynamic": True, "strategy": "token"}})
    assert not dynamic_int8_inputs({"input_activations": None})


needs_venv = pytest.mark.skipif(
    venv.absent_reason(venv.folder()) is not None,
    reason=f"{venv.absent_reason(venv.folder())}")


@pytest.mark.slow
@needs_venv
@pytest.mark.parametrize("name", LLMCOMPRESSED)
def test_llmcompressor_round_trip(name: str, tmp_path: Path, monkeypatch) -> None:
    """llm-compressor in its venv on llava-tiny (2 samples): the in-process variant and its
    compressed-tensors export through as-saved quantize the same 28 text layers and answer
    alike; a second load reuses the cached checkpoint."""
    from vlmq.calibration.data import calibration_samples
    from vlmq.loading import load_variant
    from vlmq.variants.act_quant import DYNAMIC_INT8_MARK

    monkeypatch.setattr("vlmq.calibration.cache.cache_home", lambda: tmp_path)
    settings = VariantSettings(calibration=CalibrationSettings(samples=2))
    images = [s.image for s in calibration_samples(CalibrationSettings(samples=4, seed=9))]
    prompts = ["Provide a one-sentence caption for the provided image."] * len(images)
    calibrated = load_variant("llava-tiny", name, settings=settings)
    assert calibrated.calibration_s > 0 and "dense float32" in calibrated.notes["kernel"]
    folder = Path(calibrated.notes["calibration"].rpartition("cached in ")[2])
    saved = load_variant(str(folder), "as-saved")
    for loaded in (calibrated, saved):
        assert loaded.quantized_linears["text"] == {"linear": 28, "quantized": 28}
        assert sum(c["quantized"] for p, c in loaded.quantized_linears.items() if p != "text") == 0
        # W8A8's inputs go through int8 in both, exactly on the 28 quantized layers
        marked = sum(bool(getattr(m, DYNAMIC_INT8_MARK, False)) for m in loaded.model.modules())
        assert marked == (28 if name == "smoothquant-w8a8" else 0)
    assert calibrated.generate(images, prompts, 12).texts == saved.generate(images, prompts,
                                                                             12).texts
    again = load_variant("llava-tiny", name, settings=settings)
    assert again.calibration_s == 0.0
