"""Qwen2.5-VL (Qwen/Qwen2.5-VL-3B-Instruct): a windowed-attention ViT whose patch merger
ends the vision tower, and a Qwen2 text model."""

from __future__ import annotations

from typing import Any

from vlmq.models.base import ADAPTERS
from vlmq.models.generative import GenerativeAdapter


class Qwen25VLAdapter(GenerativeAdapter):
    family = "qwen2_5_vl"
    model_types = ("qwen2_5_vl",)
    model_class = "Qwen2_5_VLForConditionalGeneration"
    hub_examples = ("Qwen/Qwen2.5-VL-3B-Instruct",)
    # No separate projector: the merger (model.visual.merger) belongs to the vision part.
    # transformers >= 4.52 first; before it the vision tower sat at the root and "model" was
    # the text model alone.
    part_candidates = {
        "vision": ("model.visual", "visual"),
        "text": ("model.language_model", "model"),
        "head": ("lm_head",),
    }

    def load_processor(self, source: str) -> Any:
        # The processor's video half needs torchvision: build it with images and text only.
        from transformers import Qwen2_5_VLProcessor

        from vlmq.models.processors import load_images_only

        return self.left_padded(load_images_only(Qwen2_5_VLProcessor, source))


ADAPTER = Qwen25VLAdapter()
for _t in ADAPTER.model_types:
    ADAPTERS.add(_t, ADAPTER)
