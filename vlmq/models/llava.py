"""LLaVA-1.5 (llava-hf/llava-1.5-7b-hf): CLIP vision tower, MLP projector, Llama text model."""

from __future__ import annotations

from vlmq.models.base import ADAPTERS
from vlmq.models.generative import GenerativeAdapter


class LlavaAdapter(GenerativeAdapter):
    family = "llava"
    model_types = ("llava",)
    model_class = "LlavaForConditionalGeneration"
    hub_examples = ("llava-hf/llava-1.5-7b-hf",)
    # transformers >= 4.52 first; before it the parts sat at the root and the text model
    # was a CausalLM with its own lm_head.
    part_candidates = {
        "vision": ("model.vision_tower", "vision_tower"),
        "projector": ("model.multi_modal_projector", "multi_modal_projector"),
        "text": ("model.language_model", "language_model.model"),
        "head": ("lm_head", "language_model.lm_head"),
    }


ADAPTER = LlavaAdapter()
for _t in ADAPTER.model_types:
    ADAPTERS.add(_t, ADAPTER)
