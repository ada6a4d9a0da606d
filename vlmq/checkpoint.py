"""Reading a checkpoint within the memory the loaded model needs.

Two things made an nf4 LLaVA-1.5-7B load (3.7 GiB quantized) reach 24 GiB resident on CPU:
- transformers memory-maps every safetensors shard and reads tensors in name order, which
  crosses all shards, so the whole 14 GB checkpoint ends up mapped into the process (resident
  file pages, counted in its RSS and peak RSS) before loading ends;
- on CPU every variant loaded its unquantized parts (embeddings, head, norms) and staged each
  weight in float32: a float16 checkpoint doubled.
`streamed_reads` makes transformers read each tensor with pread as it is needed (safetensors'
own backend for platforms without mmap): a tensor is in memory only while it is converted or
quantized. `unquantized_dtype` keeps a 16-bit checkpoint's dtype for the parts a quantized
variant leaves alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from vlmq.devices import dtype_name

_HALF = ("float16", "bfloat16")


@contextlib.contextmanager
def streamed_reads() -> Iterator[None]:
    """Within the block, transformers opens safetensors shards with the pread backend instead
    of mmap (same tensors, read when materialized; nothing of the file stays resident)."""
    import transformers.modeling_utils as mu

    original = mu.safe_open

    def pread_open(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("backend") == "mmap" and kwargs.get("device", "cpu") == "cpu":
            kwargs["backend"] = "pread"
        return original(*args, **kwargs)

    mu.safe_open = pread_open
    try:
        yield
    finally:
        mu.safe_open = original


def checkpoint_dtype(config: Any) -> str | None:
    """The checkpoint's floating dtype name as its config states it ("float16" ...), or None."""
    value = getattr(config, "dtype", None) or getattr(config, "torch_dtype", None)
    if value is None:
        return None
    return dtype_name(value)


def checkpoint_bytes(config: Any) -> float:
    """Bytes per parameter in the checkpoint: 2 for a 16-bit one, else 4 (float32, or unknown)."""
    return 2.0 if checkpoint_dtype(config) in _HALF else 4.0


def unquantized_dtype(config: Any, device_type: str) -> str | None:
    """dtype for the parts a quantized variant does not quantize: the checkpoint's own when it is
    16-bit (bfloat16 on CPU for a float16 checkpoint: same bytes, and CPUs have bfloat16
    kernels, not float16 ones); None (the variant's default) for a float32 checkpoint."""
    name = checkpoint_dtype(config)
    if name not in _HALF:
        return None
    return "bfloat16" if device_type == "cpu" else name
