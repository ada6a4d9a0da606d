"""Every quantized entry says which kernel its layers ran (`notes.kernel`): each registered
variant that runs on this machine, loaded on the embedded llava-tiny."""

from __future__ import annotations

import pytest

from vlmq.errors import UnavailableError
from vlmq.loading import load_variant, unload
from vlmq.variants.base import VariantSettings
from vlmq.variants.calibrated import Calibrated
from vlmq.variants.registry import VARIANTS


def _quantizing() -> list[str]:
    """Every registered recipe that quantizes something (bits 0: read from the checkpoint)."""
    return [n for n, v in VARIANTS.items() if v.quantizes or v.bits == 0]


@pytest.mark.parametrize("name", _quantizing())
def test_every_quantizing_variant_records_the_kernel_it_ran(name: str) -> None:
    variant = VARIANTS.get(name)
    reason = variant.unavailable_reason("cpu")
    if reason:
        pytest.skip(reason)
    if isinstance(variant, Calibrated):  # loading calibrates first: the slow tests load them
        assert variant.kernel("cpu", "float32", VariantSettings())
        return
    try:
        loaded = load_variant("llava-tiny", name, measure_disk=False)
    except UnavailableError as exc:
        pytest.skip(str(exc))
    try:
        kernel = loaded.notes.get("kernel", "")
        assert kernel and "\n" not in kernel
        assert "float32" in kernel or "bfloat16" in kernel or "eager" in kernel
    finally:
        unload(loaded)


def test_every_quantizing_variant_names_a_kernel_on_cuda_too() -> None:
    """The code runs on CUDA machines as well: what would run there is named without one."""
    for name in _quantizing():
        variant = VARIANTS.get(name)
        if "cuda" in variant.devices and name != "as-saved":  # as-saved: the checkpoint's
            assert variant.kernel("cuda", "float16", VariantSettings()), name
