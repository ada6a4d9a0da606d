"""SmolVLM (HuggingFaceTB/SmolVLM-Instruct, -256M/-500M): Idefics3 architecture, a SigLIP
vision tower, a pixel-shuffle connector and a Llama text model. SmolVLM2 checkpoints carry
model_type "smolvlm" with the same layout."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

from vlmq.errors import UnavailableError
from vlmq.models.base import ADAPTERS
from vlmq.models.generative import GenerativeAdapter, rgb

_PARTS = {
    "vision": ("model.vision_model",),
    "projector": ("model.connector",),
    "text": ("model.text_model",),
    "head": ("lm_head",),
}


class Idefics3Adapter(GenerativeAdapter):
    family = "smolvlm"
    model_types = ("idefics3",)
    model_class = "Idefics3ForConditionalGeneration"
    hub_examples = ("HuggingFaceTB/SmolVLM-Instruct", "HuggingFaceTB/SmolVLM-256M-Instruct")
    part_candidates = _PARTS

    def image_batch(self, images: list[Any]) -> Any:
        # This processor takes a list of images per sample.
        return [[rgb(im)] for im in images]

    def image_tiles(self, source: str) -> int:
        """An image resized to `size.longest_edge` and cut into tiles of
        `max_image_size.longest_edge`, plus the whole image at tile size (the most it makes,
        from a local folder's processor config; one when it cannot tell)."""
        return _tiles(_processor_config(source))

    def prompt_tokens(self, source: str) -> int | None:
        """Each tile's `image_seq_len` image tokens and the markers around them, plus the
        question in the chat template (SmolVLM-256M's caption prompt over 17 tiles: 1,320)."""
        conf = _processor_config(source)
        per_tile = conf.get("image_seq_len")
        if not per_tile:
            return None
        return _tiles(conf) * (per_tile + TILE_MARKERS) + QUESTION_TOKENS


# Tokens around each tile's image tokens (<fake_token_around_image>, <row_r_col_c> or
# <global-img>, and the line break), and a short question in the chat template.
TILE_MARKERS = 3
QUESTION_TOKENS = 64


def _tiles(conf: dict[str, Any]) -> int:
    """Tiles per image under these processor settings (one without splitting)."""
    edge = (conf.get("size") or {}).get("longest_edge")
    tile = (conf.get("max_image_size") or {}).get("longest_edge")
    if not conf.get("do_image_splitting") or not edge or not tile:
        return 1
    return math.ceil(edge / tile) ** 2 + 1


def _processor_config(source: str) -> dict[str, Any]:
    """The image processor's settings of a local folder (with the processor's own keys, such
    as image_seq_len, beside them); empty when the folder has none."""
    folder = Path(source)
    for name in ("processor_config.json", "preprocessor_config.json"):
        if (folder / name).is_file():
            conf = json.loads((folder / name).read_text())
            return {**conf, **conf.get("image_processor", {})}
    return {}


class SmolVLMAdapter(Idefics3Adapter):
    model_types = ("smolvlm",)
    model_class = "SmolVLMForConditionalGeneration"
    hub_examples = ("HuggingFaceTB/SmolVLM2-2.2B-Instruct",)

    def load_processor(self, source: str) -> Any:
        # SmolVLMProcessor insists on a video processor, whose class needs torchvision:
        # build it from its image processor and tokenizer with no video processor.
        if importlib.util.find_spec("num2words") is None:
            raise UnavailableError("SmolVLM2 processors need the num2words package, which is not "
                                   "installed: pip install num2words")
        from transformers import SmolVLMProcessor

        from vlmq.models.processors import load_images_only

        return self.left_padded(load_images_only(SmolVLMProcessor, source))


for _adapter in (Idefics3Adapter(), SmolVLMAdapter()):
    for _t in _adapter.model_types:
        ADAPTERS.add(_t, _adapter)
