"""Quantization variants, one file per backend, registered in VARIANTS through the
`vlmq.variants` entry points (see vlmq.variants.base for the scheme)."""

from vlmq.variants.base import VARIANTS, Variant, VariantSettings

__all__ = ["VARIANTS", "Variant", "VariantSettings"]
