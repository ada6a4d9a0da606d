"""ViT image classification (google/vit-large-patch16-224): encoder + linear classifier."""

from __future__ import annotations

from typing import Any

from vlmq.models.base import ADAPTERS, ClassificationOutput, ModelAdapter, ModelCall
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

    def prepare(self, processor: Any, images: list[Any], prompts: list[str]) -> Any:
        return processor(images=[rgb(im) for im in images], return_tensors="pt")

    def call(self, model: Any, inputs: Any, max_new_tokens: int, on_step: Any,
             options: dict[str, Any] | None = None) -> Any:
        logits = model(**inputs).logits
        return logits.float().topk(min(5, logits.shape[-1]), dim=-1).indices

    def finish(self, model: Any, processor: Any, inputs: Any, call: ModelCall
               ) -> ClassificationOutput:
        return ClassificationOutput(top5=call.output.tolist(), total_s=call.seconds)

    def classify(self, model: Any, processor: Any, images: list[Any]) -> ClassificationOutput:
        return self.run_batch(model, processor, images, [""] * len(images), 0)


ADAPTER = ViTAdapter()
for _t in ADAPTER.model_types:
    ADAPTERS.add(_t, ADAPTER)
