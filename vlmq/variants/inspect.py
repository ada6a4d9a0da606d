"""Which Linear layers a variant actually quantized, counted per part.

vlmq knows no backend here: a module is quantized when one of the recipes handed in
recognizes it (`Variant.quantized_linear`); callers pass every registered backend
(vlmq.variants.registry.backends), so a backend added by another package is counted too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def quantized_test(recipes: Sequence[Any]) -> Callable[[Any], bool]:
    """A function telling whether a module is a Linear that any of `recipes` stored quantized."""
    return lambda module: any(r.quantized_linear(module) for r in recipes)


def part_of(name: str, parts: dict[str, list[str]]) -> str:
    """The part a module path belongs to ('other' when none).

    The longest matching path wins: a head nested inside another part (BLIP's
    `text_decoder.cls.predictions.decoder` inside `text_decoder`) belongs to the head.
    """
    best, best_len = "other", -1
    for part, prefixes in parts.items():
        for p in prefixes:
            if (name == p or name.startswith(p + ".")) and len(p) > best_len:
                best, best_len = part, len(p)
    return best


def count_linears(model: Any, parts: dict[str, list[str]],
                  quantized: Callable[[Any], bool]) -> dict[str, dict[str, int]]:
    """{part: {"linear": total Linear layers, "quantized": how many `quantized` recognizes}}."""
    import torch.nn as nn  # here, so that importing the recipes stays torch-free

    counts: dict[str, dict[str, int]] = {p: {"linear": 0, "quantized": 0} for p in parts}
    for name, module in model.named_modules():
        is_q = quantized(module)
        if not (is_q or isinstance(module, nn.Linear)):
            continue
        c = counts.setdefault(part_of(name, parts), {"linear": 0, "quantized": 0})
        c["linear"] += 1
        c["quantized"] += int(is_q)
    return counts


def check_counts(
    variant_name: str, quantizes: tuple[str, ...], counts: dict[str, dict[str, int]],
    kept: int = 0,
) -> str | None:
    """A message when the variant did not touch exactly the parts it names, else None.

    `kept` Linear layers of the targeted parts may stay unquantized on purpose
    (the sensitivity modifier).
    """
    missing = sum(counts[p]["linear"] - counts[p]["quantized"] for p in quantizes if p in counts)
    stray = {p: c["quantized"] for p, c in counts.items() if p not in quantizes and c["quantized"]}
    if stray:
        return f"variant {variant_name!r} quantized Linear layers outside its parts: {stray}"
    if missing != kept:
        return (f"variant {variant_name!r} left {missing} Linear layers of "
                f"{'/'.join(quantizes)} unquantized (expected {kept}): {counts}")
    return None
