"""Model family adapters, one file each; importing this package registers them all."""

from vlmq.models.base import ADAPTERS, PARTS, ModelAdapter

__all__ = ["ADAPTERS", "PARTS", "ModelAdapter"]
