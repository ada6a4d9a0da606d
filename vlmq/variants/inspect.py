"""Which Linear layers a variant actually quantized, counted per part."""

from __future__ import annotations

from typing import Any

import torch.nn as nn


def is_quantized_linear(module: Any) -> bool:
    """True for a Linear layer whose weights are stored quantized, whatever the library."""
    cls = type(module)
    qualname = f"{cls.__module__}.{cls.__name__}"
    if qualname.startswith("bitsandbytes.") and cls.__name__ in ("Linear8bitLt", "Linear4bit"):
        return True
    if qualname.startswith("torch.ao.nn.quantized") and cls.__name__ == "Linear":
        return True
    if isinstance(module, nn.Linear):
        weight = getattr(module, "weight", None)
        # torchao swaps the weight for a tensor subclass (AffineQuantizedTensor & co).
        return weight is not None and type(weight.data).__module__.startswith("torchao")
    return False


def is_linear(module: Any) -> bool:
    return isinstance(module, nn.Linear) or is_quantized_linear(module)


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


def count_linears(model: Any, parts: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """{part: {"linear": total Linear layers, "quantized": how many are quantized}}."""
    counts: dict[str, dict[str, int]] = {p: {"linear": 0, "quantized": 0} for p in parts}
    for name, module in model.named_modules():
        if not is_linear(module):
            continue
        c = counts.setdefault(part_of(name, parts), {"linear": 0, "quantized": 0})
        c["linear"] += 1
        c["quantized"] += int(is_quantized_linear(module))
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
