"""Attention implementations: which ones vlmq runs, and whether one can run here.

The run's settings accept exactly ATTENTION_IMPLEMENTATIONS (anything else is a usage error
listing them); loading then asks `attention_unavailable_reason` and `check_model_attention`,
so an implementation that cannot run on this device or model class is a skip with the reason.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from vlmq.devices import is_cuda
from vlmq.errors import UnavailableError, VlmqError

ATTENTION_IMPLEMENTATIONS = ("sdpa", "eager", "flash_attention_2")

# The class flags transformers itself checks before accepting an attention implementation.
_CLASS_FLAGS = {"sdpa": "_supports_sdpa", "flash_attention_2": "_supports_flash_attn"}


def check_attention(attn_implementation: str, device: str) -> None:
    """VlmqError for an unknown implementation; UnavailableError for one this device lacks."""
    if attn_implementation not in ATTENTION_IMPLEMENTATIONS:
        raise VlmqError(f"attention implementation {attn_implementation!r} is not supported; "
                        f"use one of {', '.join(ATTENTION_IMPLEMENTATIONS)}")
    if attn_implementation == "flash_attention_2":
        if not is_cuda(device):
            raise UnavailableError("flash_attention_2 needs a CUDA GPU")
        if importlib.util.find_spec("flash_attn") is None:
            raise UnavailableError("flash_attention_2 needs the flash-attn package, not installed")


def check_model_attention(cls: Any, attn_implementation: str) -> None:
    """Unavailable when the model class cannot run this attention (BLIP is eager-only)."""
    flag = _CLASS_FLAGS.get(attn_implementation)
    if flag and not getattr(cls, flag, False):
        raise UnavailableError(f"{cls.__name__} does not support {attn_implementation} attention "
                               f"in this transformers version; run it with eager attention")
