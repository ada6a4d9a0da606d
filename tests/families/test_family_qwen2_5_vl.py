"""Qwen2.5-VL family: a tiny Qwen2_5_VLForConditionalGeneration through the seed variants."""

from __future__ import annotations

import pytest
from tiny_families import assert_touched, check_generation

from vlmq.loading import load_variant

# No projector part: the patch merger ends the vision tower, so it goes with "vision".
VARIANTS = {
    "fp32": (),
    "int8": ("vision", "text"),
    "int8-text": ("text",),
    "int8-vision": ("vision",),
    "nf4": ("vision", "text"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_touches_its_parts_and_generates(tiny_models, variant):
    loaded = load_variant(tiny_models("qwen2_5_vl"), variant, measure_disk=False)
    assert loaded.adapter.family == "qwen2_5_vl"
    assert loaded.parts == {"vision": ["model.visual"], "text": ["model.language_model"],
                            "head": ["lm_head"]}
    assert_touched(loaded, VARIANTS[variant])
    check_generation(loaded)


def test_processor_has_no_video_half(tiny_models):
    loaded = load_variant(tiny_models("qwen2_5_vl"), "fp32", attn_implementation="eager",
                          measure_disk=False)
    assert getattr(loaded.processor, "video_processor", None) is None
    assert loaded.processor.tokenizer.padding_side == "left"
    check_generation(loaded)
