"""LLaVA-1.5 family: a tiny LlavaForConditionalGeneration through every seed variant."""

from __future__ import annotations

import pytest
from tiny_families import assert_touched, check_generation, solid_images

from vlmq.loading import load_variant

ALL = ("vision", "projector", "text")
VARIANTS = {
    "fp32": (),
    "int8": ALL,
    "int8-text": ("text",),
    "int8-vision": ("vision", "projector"),
    "nf4": ALL,
    "nf4-text": ("text",),
    "dynamic-int8": ALL,
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_touches_its_parts_and_generates(tiny_models, variant):
    loaded = load_variant(tiny_models("llava"), variant, measure_disk=False)
    assert loaded.adapter.family == "llava"
    assert loaded.parts == {"vision": ["model.vision_tower"],
                            "projector": ["model.multi_modal_projector"],
                            "text": ["model.language_model"], "head": ["lm_head"]}
    assert_touched(loaded, VARIANTS[variant])
    check_generation(loaded)


def test_batch_matches_single_samples(tiny_models):
    """Left padding and the attention mask make a batched answer equal the answer alone."""
    loaded = load_variant(tiny_models("llava"), "fp32", measure_disk=False)
    images = solid_images(2)
    prompts = ["caption", "what is in the picture on the table near the tree"]
    batched = loaded.generate(images, prompts, 6)
    alone = [loaded.generate([im], [p], 6).texts[0] for im, p in zip(images, prompts, strict=True)]
    assert batched.texts == alone


def test_eager_attention_gives_the_sdpa_answer(tiny_models):
    texts = {}
    for attn in ("sdpa", "eager"):
        loaded = load_variant(tiny_models("llava"), "fp32", attn_implementation=attn,
                              measure_disk=False)
        assert loaded.model.config._attn_implementation == attn
        texts[attn] = check_generation(loaded).texts
    assert texts["sdpa"] == texts["eager"]
