"""ViT image classification (google/vit-large-patch16-224): encoder + linear classifier."""

from __future__ import annotations

import time
from typing import Any

from vlmq.models.base import ADAPTERS, ClassificationOutput, ModelAdapter
from vlmq.models.generative import rgb


class ViTAdapter(ModelAdapter):
    family = "vit"
    model_types = ("vit",)
    kind = "classify"
    hub_examples = ("google/vit-large-patch16-224",)
    # The whole backbone counts as the vision part; the classifier is the head, which every
    # variant keeps in full precision (a 102-class head also trips 4-bit CPU kernels).
    part_candidates = {
        "vision": ("vit",),
        "head": ("classifier",),
    }

    def auto_class(self) -> Any:
        from transformers import ViTForImageClassification

        return ViTForImageClassification

    def load_processor(self, source: str) -> Any:
        from transformers import AutoImageProcessor

        return AutoImageProcessor.from_pretrained(source)

    def classify(self, model: Any, processor: Any, images: list[Any]) -> ClassificationOutput:
        import torch

        start = time.perf_counter()
        inputs = processor(images=[rgb(im) for im in images], return_tensors="pt")
        inputs = inputs.to(model.device, dtype=model.dtype)
        with torch.inference_mode():
            logits = model(**inputs).logits
        k = min(5, logits.shape[-1])
        top = logits.float().topk(k, dim=-1).indices.tolist()  # tolist() waits for the GPU
        return ClassificationOutput(top5=top, total_s=time.perf_counter() - start)


ADAPTER = ViTAdapter()
for _t in ADAPTER.model_types:
    ADAPTERS.add(_t, ADAPTER)
