"""A pytest plugin (loaded with `-p crushed_variant`) that registers, through vlmq's
`pytest_vlmq_register` hook, a variant which breaks the model on purpose: every vision Linear
weight rounded to 4 levels per tensor. It claims 8 bits, so the default 0.97 gate applies, and
must fail it. With VLMQ_TEST_CRUSH=off the same variant leaves the model intact (a healthy
reference run under the same variant name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.variants.base import Variant, VariantSettings


@dataclass(frozen=True)
class Crushed(Variant):
    def post_load(self, model: Any, parts: dict[str, list[str]], settings: VariantSettings,
                  device_type: str) -> None:
        import os

        import torch

        if os.environ.get("VLMQ_TEST_CRUSH") == "off":
            return

        from vlmq.variants.inspect import part_of

        with torch.no_grad():
            for name, module in model.named_modules():
                if isinstance(module, torch.nn.Linear) and part_of(name, parts) == "vision":
                    w = module.weight
                    step = w.abs().max() / 1.5
                    w.copy_((w / step).round().clamp(-2, 1) * step)


def pytest_vlmq_register(variants: Any) -> None:
    variants.add("crushed", Crushed(name="crushed", bits=8,
                                    description="test only: 2-bit rounding of vision weights"))
