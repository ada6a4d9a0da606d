"""The KV cache as an axis (`--vlmq-kv-cache full,int4,int2`): transformers' quantized cache
(KIVI-style: keys and values quantized per channel in groups, the newest tokens kept in full
precision until `RESIDUAL_LENGTH` of them are waiting), with HQQ as the quantizing backend.

Also the cache's size per sample, computed from its layout (the quantized tokens' packed bits
plus one scale and one zero point per group, and the full-precision residual): transformers does
not report it, and a VLM prompt's hundreds of image tokens are where it matters.
"""

from __future__ import annotations

import math
from typing import Any

from vlmq.errors import UnavailableError

FULL = "full"
KV_SETTINGS = {FULL: 0, "int4": 4, "int2": 2}  # setting -> bits (0: the model's own dtype)
BACKEND = "hqq"  # pure torch on CPU; quanto builds a C++ extension on first use
GROUP_SIZE = 64  # transformers' default q_group_size
RESIDUAL_LENGTH = 128  # transformers' default: the newest tokens kept in full precision


def kv_cache_options(setting: str, generation: str) -> dict[str, Any]:
    """generate() options for one setting; the quantized cache needs the eager decode loop."""
    bits = KV_SETTINGS[setting]
    if not bits:
        return {}
    if generation != "eager":
        raise UnavailableError(f"KV cache {setting} is transformers' quantized cache, which runs "
                               f"with --vlmq-generation eager only (not {generation})")
    return {"cache_implementation": "quantized",
            "cache_config": {"backend": BACKEND, "nbits": bits, "q_group_size": GROUP_SIZE,
                             "residual_length": RESIDUAL_LENGTH}}


def kv_unavailable_reason(setting: str, model: Any) -> str | None:
    """Why this model cannot run the setting (encoder-decoder, sliding-window layers)."""
    if not KV_SETTINGS[setting]:
        return None
    text = model.config.get_text_config(decoder=True)
    kinds = set(getattr(text, "layer_types", None) or ["full_attention"])
    if getattr(model.config, "is_encoder_decoder", False) or kinds != {"full_attention"}:
        return (f"KV cache {setting}: transformers' quantized cache needs a decoder with full "
                f"attention layers only ({type(model).__name__} is not)")
    return None


def kv_token_elements(text_config: Any) -> int:
    """Elements one cached token holds: keys and values of every decoder layer (0 for a config
    without attention heads)."""
    heads = getattr(text_config, "num_attention_heads", 0) or 0
    if not heads:
        return 0
    kv_heads = getattr(text_config, "num_key_value_heads", None) or heads
    head_dim = getattr(text_config, "head_dim", None) or text_config.hidden_size // heads
    return 2 * (getattr(text_config, "num_hidden_layers", 0) or 0) * kv_heads * head_dim


def cached_tokens(prompt_tokens: float, new_tokens: float) -> float:
    """Tokens in the cache after decoding `new_tokens` after the prompt: the last token is
    never cached."""
    return prompt_tokens + max(new_tokens - 1, 0)


def kv_cache_bytes(text_config: Any, prompt_tokens: float, new_tokens: float, setting: str,
                   element_bytes: int) -> float:
    """Bytes the cache holds for one sample after decoding `new_tokens` after its prompt."""
    per_token = kv_token_elements(text_config)
    cached = cached_tokens(prompt_tokens, new_tokens)
    bits = KV_SETTINGS[setting]
    if not bits:
        return cached * per_token * element_bytes
    # the prompt is quantized at once; decoded tokens wait in full precision until a flush
    waiting = max(new_tokens - 1, 0) % RESIDUAL_LENGTH
    quantized = (cached - waiting) * per_token
    groups = math.ceil(quantized / GROUP_SIZE)
    return quantized * bits / 8 + groups * 2 * element_bytes + waiting * per_token * element_bytes
