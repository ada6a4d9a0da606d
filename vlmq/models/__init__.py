"""Model family adapters, one file each; importing this package registers them all."""

from vlmq.models import blip, idefics3, llava, qwen2_5_vl, vit  # noqa: F401  (registration)
from vlmq.models.base import ADAPTERS, PARTS, ModelAdapter

__all__ = ["ADAPTERS", "PARTS", "ModelAdapter"]
