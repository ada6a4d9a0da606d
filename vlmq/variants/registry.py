"""The registry of variant recipes, apart from the recipe type, so that code which counts or
measures what the recipes describe (vlmq.variants.inspect, vlmq.measure.footprint) is handed
the recipes instead of reaching up for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlmq.registry import Registry

if TYPE_CHECKING:
    from vlmq.variants.base import Variant


def _bits_descending(variant: Variant) -> int:
    return -variant.bits


# Filled from the `vlmq.variants` entry points; listed from full precision down to 4 bits.
VARIANTS: Registry[Variant] = Registry("variant", group="vlmq.variants", order=_bits_descending)


def backends() -> list[Variant]:
    """One registered recipe per variant class: each class carries its backend's facts (its
    quantized Linear classes, the storage it keeps outside parameters)."""
    return list({type(v): v for v in VARIANTS.values()}.values())


ALL = "all"  # --vlmq-variants all: every registered variant


def chosen_variants(asked: list[str]) -> list[str]:
    """The variants a run asked for: as listed; none = those flagged `by_default` (one per
    backend and precision, the main job's set); `all` = every registered one."""
    if asked == [ALL]:
        return VARIANTS.names()
    return list(asked) or [n for n, v in VARIANTS.items() if v.by_default]
