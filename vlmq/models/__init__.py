"""Model family adapters, one file each, registered in ADAPTERS through the `vlmq.models`
entry points (vlmq's own are listed in its pyproject.toml): a new family is one file plus one
entry-point line."""

from vlmq.models.base import ADAPTERS, PARTS, ModelAdapter

__all__ = ["ADAPTERS", "PARTS", "ModelAdapter"]
