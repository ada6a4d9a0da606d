"""The layer-wise sensitivity sweep: its variant list, what each point recovers, the keep
modifier on a real (tiny) model, and the plot."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vlmq.errors import VlmqError
from vlmq.loading import load_variant
from vlmq.sensitivity import SensitivitySweep, part_layers, run_sweep, sweep_variants

TEXT_LAYERS = [f"model.language_model.layers.{i}" for i in range(3)]


def test_sweep_variants_one_per_layer_after_the_base():
    assert sweep_variants("nf4", "vision", 3) == [
        "nf4", "nf4+keep=vision:0", "nf4+keep=vision:1", "nf4+keep=vision:2"]


@pytest.mark.parametrize(("base", "n", "message"), [
    ("nf4+keep=text:0", 3, "already has a modifier"), ("nf4", 0, "no layers"),
])
def test_sweep_variants_refuses(base, n, message):
    with pytest.raises(VlmqError, match=message):
        sweep_variants(base, "text", n)


@pytest.mark.parametrize(("family", "part", "stack"), [
    ("llava", "text", "model.language_model.layers"),
    ("llava", "vision", "model.vision_tower.encoder.layers"),
    ("idefics3", "vision", "model.vision_model.encoder.layers"),
    ("idefics3", "text", "model.text_model.layers"),
    ("qwen2_5_vl", "vision", "model.visual.blocks"),
    ("qwen2_5_vl", "text", "model.language_model.layers"),
    ("blip", "vision", "vision_model.encoder.layers"),
    ("blip", "text", "text_decoder.bert.encoder.layer"),
    ("vit", "vision", "vit.layers"),
])
def test_every_family_has_a_layer_stack_per_part(tiny_models, family, part, stack):
    assert part_layers(tiny_models(family), part) == [f"{stack}.{i}" for i in range(3)]


def test_part_layers_come_from_the_model(tiny_models):
    assert part_layers(tiny_models("llava"), "text") == TEXT_LAYERS
    with pytest.raises(VlmqError, match="no 'text' part"):
        part_layers(tiny_models("vit"), "text")


def _fake_scores(scores):
    calls = []

    def score(variant):
        calls.append(variant)
        return scores[variant]

    return score, calls


def test_run_sweep_scores_recovery_against_the_loss():
    scores = {"fp32": 0.8, "nf4": 0.4, "nf4+keep=text:0": 0.7, "nf4+keep=text:1": 0.4,
              "nf4+keep=text:2": 0.5}
    score, calls = _fake_scores(scores)
    sweep = run_sweep("m", "nf4", "text", score, baseline_variant="fp32", task="vqa",
                      metric="accuracy", layers=TEXT_LAYERS)
    assert calls == ["fp32", "nf4", "nf4+keep=text:0", "nf4+keep=text:1", "nf4+keep=text:2"]
    assert sweep.base.score == 0.4 and sweep.base.recovered == 0
    assert [p.module for p in sweep.layers] == TEXT_LAYERS
    assert [round(p.recovered, 6) for p in sweep.layers] == [0.75, 0.0, 0.25]
    assert [round(p.retention, 6) for p in sweep.layers] == [0.875, 0.5, 0.625]
    assert sweep.best().layer == 0
    assert SensitivitySweep.from_dict(json.loads(json.dumps(sweep.to_dict()))) == sweep


def test_a_loss_within_noise_has_nothing_to_recover():
    scores = {"fp32": 0.8, "nf4": 0.795, "nf4+keep=text:0": 0.81}
    score, _ = _fake_scores(scores)
    sweep = run_sweep("m", "nf4", "text", score, baseline_variant="fp32", task="vqa",
                      metric="accuracy", layers=TEXT_LAYERS[:1])
    assert [p.recovered for p in sweep.points] == [None, None]
    assert round(sweep.layers[0].retention, 6) == round(0.81 / 0.8, 6)


def test_lower_is_better_metric_and_no_gap():
    scores = {"fp32": 2.0, "int8": 2.0, "int8+keep=vision:0": 1.0, "int8+keep=vision:1": 4.0}
    score, _ = _fake_scores(scores)
    sweep = run_sweep("m", "int8", "vision", score, baseline_variant="fp32", task="t",
                      metric="loss", higher_is_better=False, layers=["a", "b"])
    assert all(p.recovered is None for p in sweep.points)  # the base lost nothing
    assert [p.retention for p in sweep.layers] == [2.0, 0.5]
    assert sweep.best().layer == 0


def test_keep_modifier_leaves_exactly_the_kept_layer_unquantized(tiny_models):
    path = tiny_models("llava")
    base = load_variant(path, "nf4", measure_disk=False)
    kept = load_variant(path, "nf4+keep=text:last", measure_disk=False)
    assert kept.kept_modules == (TEXT_LAYERS[-1],)
    layer = dict(kept.model.named_modules())[TEXT_LAYERS[-1]]
    per_layer = sum(1 for m in layer.modules() if type(m).__name__ == "Linear")
    assert per_layer == 7  # q, k, v, o, gate, up, down: all left in full precision
    assert kept.quantized_linears["text"]["quantized"] == (
        base.quantized_linears["text"]["quantized"] - per_layer)
    assert kept.quantized_linears["vision"] == base.quantized_linears["vision"]
    with pytest.raises(VlmqError, match="does not quantize"):
        load_variant(path, "int8-text+keep=vision:0", measure_disk=False)


def test_write_sweep_plot_and_json_without_torch(tmp_path):
    sweep = {"model": "org/m", "part": "vision", "base_variant": "nf4",
             "baseline_variant": "fp16", "task": "classify", "metric": "top1",
             "higher_is_better": True, "baseline_score": 0.9,
             "points": [{"variant": "nf4", "layer": None, "module": None, "score": 0.7,
                         "retention": 0.7 / 0.9, "recovered": 0.0},
                        {"variant": "nf4+keep=vision:0", "layer": 0, "module": "vit.layers.0",
                         "score": 0.85, "retention": 0.85 / 0.9, "recovered": 0.75}]}
    code = (
        "import json, sys\n"
        "from vlmq.report.sensitivity import write_sweep\n"
        "from vlmq.sensitivity import SensitivitySweep\n"
        f"data, png = write_sweep(SensitivitySweep.from_dict(json.loads({json.dumps(sweep)!r})),"
        f" {str(tmp_path)!r})\n"
        "print(data.name, png.name, png.stat().st_size > 1000, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["org--m__nf4__vision__classify.json",
                                  "org--m__nf4__vision__classify.png", "True", "False"]
    assert json.loads((tmp_path / "sensitivity" / out.stdout.split()[0]).read_text()) == sweep
