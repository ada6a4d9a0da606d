"""Which Linear layers a post-training quantizer should replace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def is_kept(name: str, keep: tuple[str, ...]) -> bool:
    """True when `name` is a kept module or inside one: the path itself, a child of it, or
    ending in it (the same prefix/suffix rules transformers applies to bnb skip lists)."""
    return any(name == k or name.startswith(k + ".") or name.endswith("." + k) for k in keep)


def target_linears(
    model: Any, parts: dict[str, list[str]], quantizes: tuple[str, ...], keep: tuple[str, ...]
) -> list[str]:
    """Full paths of the plain nn.Linear layers inside the parts in `quantizes`, minus kept ones.

    Exact nn.Linear only: subclasses such as MultiheadAttention's out_proj are read as raw
    weights by their parent and would break if swapped.
    """
    import torch.nn as nn  # here, so that importing the variants registry stays torch-free

    from vlmq.variants.inspect import part_of

    return [
        name for name, module in model.named_modules()
        if type(module) is nn.Linear
        and part_of(name, parts) in quantizes
        and not is_kept(name, keep)
    ]


def linears_shaped(model: Any, parts: dict[str, list[str]], quantizes: tuple[str, ...],
                   picked: Callable[[int, int], bool]) -> list[str]:
    """The Linear layers `target_linears` finds (nothing kept) whose shape `picked` takes, as
    picked(in_features, out_features): the shapes a backend's kernels cannot run."""
    layers = {name: model.get_submodule(name)
              for name in target_linears(model, parts, quantizes, ())}
    return [name for name, m in layers.items() if picked(m.in_features, m.out_features)]
