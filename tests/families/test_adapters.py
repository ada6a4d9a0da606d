"""Adapter selection by model_type, and part resolution on skeletons of the REAL checkpoints'
shapes (empty weights: nothing is allocated), so the layer counts the sensitivity sweep sees
are those of the seeds' models."""

from __future__ import annotations

import json

import pytest

from vlmq.errors import VlmqError
from vlmq.loading import adapter_for, read_config

LLAMA_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                num_attention_heads=32, num_key_value_heads=32, vocab_size=32064)


def _real_configs():
    from transformers import (
        BlipConfig,
        CLIPVisionConfig,
        Idefics3Config,
        Idefics3VisionConfig,
        LlamaConfig,
        LlavaConfig,
        Qwen2_5_VLConfig,
        ViTConfig,
    )

    return {
        "llava-1.5-7b": (LlavaConfig(
            vision_config=CLIPVisionConfig(hidden_size=1024, intermediate_size=4096,
                                           num_hidden_layers=24, num_attention_heads=16,
                                           image_size=336, patch_size=14, projection_dim=768),
            text_config=LlamaConfig(**LLAMA_7B), image_token_index=32000,
        ), {"vision": 24, "text": 32}),
        "SmolVLM-Instruct": (Idefics3Config(
            vision_config=Idefics3VisionConfig(hidden_size=1152, intermediate_size=4304,
                                               num_hidden_layers=27, num_attention_heads=16,
                                               image_size=384, patch_size=14),
            text_config=LlamaConfig(hidden_size=2048, intermediate_size=8192,
                                    num_hidden_layers=24, num_attention_heads=32,
                                    num_key_value_heads=32, vocab_size=49155),
            scale_factor=3,
        ), {"vision": 27, "text": 24}),
        "Qwen2.5-VL-3B": (Qwen2_5_VLConfig(
            vision_config=dict(depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16,
                               patch_size=14, window_size=112, out_hidden_size=2048,
                               fullatt_block_indexes=[7, 15, 23, 31]),
            text_config=dict(hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                             num_attention_heads=16, num_key_value_heads=2, vocab_size=151936,
                             rope_parameters={"rope_type": "default",
                                              "mrope_section": [16, 24, 24]}),
            tie_word_embeddings=True,
        ), {"vision": 32, "text": 36}),
        "blip-image-captioning-base": (BlipConfig(
            vision_config=dict(image_size=384), text_config=dict(vocab_size=30524),
        ), {"vision": 12, "text": 12}),
        "vit-large-patch16-224": (ViTConfig(
            hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
            num_attention_heads=16, num_labels=1000,
        ), {"vision": 24}),
    }


@pytest.mark.parametrize("name", ["llava-1.5-7b", "SmolVLM-Instruct", "Qwen2.5-VL-3B",
                                  "blip-image-captioning-base", "vit-large-patch16-224"])
def test_real_shapes_resolve_every_part_and_layer_stack(name):
    from accelerate import init_empty_weights

    config, layers = _real_configs()[name]
    adapter = adapter_for(config)
    with init_empty_weights():
        skeleton = adapter.auto_class()._from_config(config)
    parts = adapter.resolve_parts(skeleton)
    assert set(parts) == set(adapter.part_candidates)
    for part, n in layers.items():
        assert len(adapter.layer_paths(skeleton, part)) == n, part


def test_unknown_model_type_lists_the_supported_ones(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(VlmqError) as err:
        adapter_for(read_config(str(tmp_path)))
    message = str(err.value)
    assert "'bert' is not supported" in message
    for model_type in ("blip", "idefics3", "llava", "qwen2_5_vl", "smolvlm", "vit"):
        assert model_type in message


def test_a_renamed_part_fails_loudly(tiny_models):
    from accelerate import init_empty_weights

    from vlmq.models.llava import LlavaAdapter

    class Renamed(LlavaAdapter):
        part_candidates = {**LlavaAdapter.part_candidates, "vision": ("model.vision_encoder",)}

    config = read_config(tiny_models("llava"))
    with init_empty_weights():
        skeleton = Renamed().auto_class()._from_config(config)
    with pytest.raises(VlmqError, match="no module for part 'vision'"):
        Renamed().resolve_parts(skeleton)
