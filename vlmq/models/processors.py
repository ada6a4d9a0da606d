"""Processors whose video half needs torchvision (SmolVLM, Qwen2.5-VL), built without it.

transformers decides which sub-processors a processor loads from its __init__ signature;
a subclass whose signature has no video_processor loads and checks the image processor and
the tokenizer only, so the processor works for images and text without torchvision.
"""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def images_only(processor_cls: type) -> type:
    """A subclass of `processor_cls` that has no video processor."""

    class ImagesOnly(processor_cls):  # type: ignore[misc, valid-type]
        def __init__(self, image_processor: Any = None, tokenizer: Any = None,
                     chat_template: str | None = None, **kwargs: Any) -> None:
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template,
                             **kwargs)

    # Same name as the parent, so a saved processor_config names the real class.
    ImagesOnly.__name__ = ImagesOnly.__qualname__ = processor_cls.__name__
    return ImagesOnly


def load_images_only(processor_cls: type, source: str) -> Any:
    """`processor_cls.from_pretrained(source)` without its video processor."""
    return images_only(processor_cls).from_pretrained(source)
