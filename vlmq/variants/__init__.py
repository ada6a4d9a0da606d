"""Quantization variants. Importing this package registers every shipped variant in VARIANTS.

The family modules are imported in this order so that "every variant" runs from full
precision down to 4 bits.
"""

import importlib

from vlmq.variants.base import VARIANTS, Variant, VariantSettings

FAMILIES = ("precision", "bnb_int8", "bnb_4bit", "torch_dynamic", "torchao_int8", "torchao_float8",
            "torchao_int4")
for _family in FAMILIES:
    importlib.import_module(f"vlmq.variants.{_family}")

__all__ = ["FAMILIES", "VARIANTS", "Variant", "VariantSettings"]
