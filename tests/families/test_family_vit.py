"""ViT classification family: a tiny ViTForImageClassification in 8-bit and 4-bit."""

from __future__ import annotations

import pytest
from tiny_families import assert_touched, check_classification, solid_images

from vlmq.errors import UnavailableError
from vlmq.loading import load_variant

# The 10-class head stays in full precision: 4-bit CPU kernels reject its output size.
VARIANTS = {
    "fp32": (),
    "int8": ("vision",),
    "nf4": ("vision",),
    "fp4": ("vision",),
    "dynamic-int8": ("vision",),
    "torchao-int8": ("vision",),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_touches_its_parts_and_classifies(tiny_models, variant):
    loaded = load_variant(tiny_models("vit"), variant, measure_disk=False)
    assert loaded.adapter.kind == "classify"
    assert loaded.parts == {"vision": ["vit"], "head": ["classifier"]}
    assert_touched(loaded, VARIANTS[variant])
    check_classification(loaded)


def test_text_only_variant_is_unavailable(tiny_models):
    with pytest.raises(UnavailableError, match="do not have"):
        load_variant(tiny_models("vit"), "int8-text", measure_disk=False)


def test_eager_and_sdpa_rank_alike(tiny_models):
    tops = {}
    for attn in ("sdpa", "eager"):
        loaded = load_variant(tiny_models("vit"), "fp32", attn_implementation=attn,
                              measure_disk=False)
        assert loaded.model.config._attn_implementation == attn
        tops[attn] = loaded.classify(solid_images(4)).top5
    assert tops["sdpa"] == tops["eager"]
