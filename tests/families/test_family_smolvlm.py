"""SmolVLM family (Idefics3 architecture; SmolVLM2's "smolvlm" type shares the adapter)."""

from __future__ import annotations

import importlib.util
import time

import pytest
from tiny_families import assert_touched, check_generation

from vlmq.errors import UnavailableError, VlmqError
from vlmq.loading import load_variant

ALL = ("vision", "projector", "text")
VARIANTS = {
    "fp32": (),
    "int8": ALL,
    "int8-text": ("text",),
    "int8-vision": ("vision", "projector"),
    "nf4": ALL,
}
PARTS = {"vision": ["model.vision_model"], "projector": ["model.connector"],
         "text": ["model.text_model"], "head": ["lm_head"]}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_touches_its_parts_and_generates(tiny_models, variant):
    loaded = load_variant(tiny_models("idefics3"), variant, measure_disk=False)
    assert loaded.adapter.family == "smolvlm"
    assert loaded.parts == PARTS
    assert_touched(loaded, VARIANTS[variant])
    check_generation(loaded)


def test_eager_attention(tiny_models):
    loaded = load_variant(tiny_models("idefics3"), "fp32", attn_implementation="eager",
                          measure_disk=False)
    assert loaded.model.config._attn_implementation == "eager"
    check_generation(loaded)


@pytest.mark.skipif(importlib.util.find_spec("num2words") is None,
                    reason="SmolVLM2's processor needs num2words, not installed here")
def test_smolvlm2_type_int8_text(tiny_models):
    loaded = load_variant(tiny_models("smolvlm"), "int8-text", measure_disk=False)
    assert loaded.parts == PARTS
    assert_touched(loaded, ("text",))
    check_generation(loaded)


def test_smolvlm2_without_num2words_is_unavailable(monkeypatch):
    from vlmq.models.idefics3 import SmolVLMAdapter

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "num2words" else real(name, *a))
    with pytest.raises(UnavailableError, match="num2words"):
        SmolVLMAdapter().load_processor("unused")


def test_hub_id_offline_fails_at_once_and_says_why(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(VlmqError, match="weights must be reachable or given as a local path"):
        load_variant("HuggingFaceTB/SmolVLM-256M-Instruct", "fp32")
    assert time.perf_counter() - start < 10
