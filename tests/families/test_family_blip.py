"""BLIP captioning family: a tiny BlipForConditionalGeneration; eager attention only."""

from __future__ import annotations

import pytest
from tiny_families import assert_touched, check_generation

from vlmq.errors import UnavailableError
from vlmq.loading import load_variant

# No projector: "int8-vision" quantizes the vision tower alone. The head (the decoder's
# tied output layer) stays in full precision in every variant.
VARIANTS = {
    "fp32": (),
    "dynamic-int8": ("vision", "text"),
    "int8-text": ("text",),
    "int8-vision": ("vision",),
    "nf4": ("vision", "text"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_touches_its_parts_and_generates(tiny_models, variant):
    loaded = load_variant(tiny_models("blip"), variant, attn_implementation="eager",
                          measure_disk=False)
    assert loaded.parts == {"vision": ["vision_model"], "text": ["text_decoder.bert"],
                            "head": ["text_decoder.cls"]}
    assert_touched(loaded, VARIANTS[variant])
    check_generation(loaded)


def test_sdpa_is_unavailable_with_the_reason(tiny_models):
    with pytest.raises(UnavailableError, match="does not support sdpa"):
        load_variant(tiny_models("blip"), "fp32", attn_implementation="sdpa")
