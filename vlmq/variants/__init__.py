"""Quantization variants, one file per backend, registered in VARIANTS through the
`vlmq.variants` entry points (see vlmq.variants.base for the scheme)."""

from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.registry import VARIANTS

__all__ = ["VARIANTS", "Variant", "VariantSettings"]
