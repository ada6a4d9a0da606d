"""BLIP captioning (Salesforce/blip-image-captioning-base): ViT encoder, BERT decoder that
cross-attends to it. No chat template: it captions unconditionally and ignores the prompt
(a text prompt would be read as the start of the caption)."""

from __future__ import annotations

from typing import Any

from vlmq.models.base import ADAPTERS
from vlmq.models.generative import GenerativeAdapter, rgb


class BlipAdapter(GenerativeAdapter):
    family = "blip"
    model_types = ("blip",)
    model_class = "BlipForConditionalGeneration"
    hub_examples = ("Salesforce/blip-image-captioning-base",)
    # No projector: the decoder's cross-attention reads the vision features directly.
    # The head holds the decoder weights tied to the embeddings, which bnb cannot quantize.
    part_candidates = {
        "vision": ("vision_model",),
        "text": ("text_decoder.bert",),
        "head": ("text_decoder.cls",),
    }

    def load_processor(self, source: str) -> Any:
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(source)

    def build_inputs(self, processor: Any, images: list[Any], prompts: list[str]) -> Any:
        return processor(images=[rgb(im) for im in images], return_tensors="pt")

    def calibration_inputs(self, processor: Any, image: Any, prompt: str, answer: str) -> Any:
        # no chat turn: the decoder reads the caption itself after the image
        return processor(images=[rgb(image)], text=[answer], return_tensors="pt")

    def cross_attention_tokens(self, config: Any) -> int:
        from vlmq.measure.estimate import encoder_patches

        return encoder_patches(config.vision_config) + 1  # the patches and the class token

    def prompt_length(self, inputs: Any) -> int:
        return 1  # generate() starts every caption from the BOS token it adds itself

    def eos_ids(self, model: Any) -> set[int]:
        return {int(model.config.text_config.sep_token_id)}


ADAPTER = BlipAdapter()
for _t in ADAPTER.model_types:
    ADAPTERS.add(_t, ADAPTER)
