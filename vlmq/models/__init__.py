"""Model family adapters, one file each; importing this package registers them all."""

from vlmq.models import llava, vit  # noqa: F401  (each registers its adapter)
from vlmq.models.base import ADAPTERS, PARTS, ModelAdapter

__all__ = ["ADAPTERS", "PARTS", "ModelAdapter"]
