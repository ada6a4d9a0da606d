"""Random weights written shard by shard, never holding the whole model in memory.

The model is built with its parameters on the meta device (shapes only; buffers real); each
parameter is then drawn from its own seeded generator in the checkpoint dtype and appended to
the current safetensors shard, which is written and freed once it reaches `shard_bytes`. A 7B
model in float16 thus needs about one shard of memory, not 14 GB (28 GB in float32).
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

SHARD_BYTES = 2 * 1024**3
INIT_STD = 0.02  # the initializer_range of every one of these configs


def _norm_params(model: Any) -> set[str]:
    """Names of normalization weights: drawn as ones, as a trained model's are near 1."""
    out = set()
    for mname, module in model.named_modules():
        if "Norm" in type(module).__name__:
            out.update(f"{mname}.{p}" if mname else p for p, _ in
                       module.named_parameters(recurse=False) if p == "weight")
    return out


def _draw(name: str, shape: tuple[int, ...], dtype: Any, seed: int, norms: set[str]) -> Any:
    import torch

    if name in norms:
        return torch.ones(shape, dtype=dtype)
    if name.endswith("bias"):
        return torch.zeros(shape, dtype=dtype)
    # one generator per tensor, seeded from its name: the same folder for the same seed,
    # whatever the order or depth. Uniform with the init std: values do not matter for speed,
    # and drawing uniform numbers in the target dtype is the cheapest (7B in minutes).
    gen = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
    half_width = INIT_STD * 3**0.5
    return torch.empty(shape, dtype=dtype).uniform_(-half_width, half_width, generator=gen)


def write_random_weights(model: Any, out: Path, dtype: Any, seed: int,
                         shard_bytes: int = SHARD_BYTES) -> dict[str, Any]:
    """Write every parameter (tied ones once) and persistent buffer of a meta-device `model`
    to `out` as safetensors shards plus an index; returns {"parameters", "bytes", "shards"}."""
    from safetensors.torch import save_file

    norms = _norm_params(model)
    params = dict(model.named_parameters())  # deduplicated: a tied weight appears once
    buffers = _persistent_buffers(model)
    meta = [k for k, b in buffers.items() if b.is_meta]
    if meta:
        raise RuntimeError(f"build the model with real buffers (accelerate's init_empty_weights "
                           f"keeps them): {meta} have no value")

    shards: list[dict[str, Any]] = [{}]
    sizes = [0]
    total, count = 0, 0
    files: list[str] = []

    def flush() -> None:
        files.append(f"shard-{len(files):05d}.safetensors")
        save_file(shards[-1], str(out / files[-1]), metadata={"format": "pt"})
        shards[-1] = {}
        sizes[-1] = 0

    weight_map: dict[str, int] = {}
    for name, p in params.items():
        t = _draw(name, tuple(p.shape), dtype if p.is_floating_point() else p.dtype, seed, norms)
        if sizes[-1] and sizes[-1] + t.nbytes > shard_bytes:
            flush()
        shards[-1][name] = t
        sizes[-1] += t.nbytes
        weight_map[name] = len(files)
        total += t.nbytes
        count += t.numel()
    for name, b in buffers.items():
        shards[-1][name] = b.clone()
        weight_map[name] = len(files)
        total += b.nbytes
    if shards[-1]:
        flush()
    if len(files) == 1:
        (out / files[0]).rename(out / "model.safetensors")
        files = ["model.safetensors"]
    else:
        n = len(files)
        renamed = [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)]
        for old, new in zip(files, renamed, strict=True):
            (out / old).rename(out / new)
        index = {"metadata": {"total_size": total},
                 "weight_map": {k: renamed[i] for k, i in sorted(weight_map.items())}}
        (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=1))
        files = renamed
    return {"parameters": count, "bytes": total, "shards": len(files)}


def _persistent_buffers(model: Any) -> dict[str, Any]:
    """The buffers a checkpoint stores (position ids ...), by state-dict name."""
    out = {}
    for mname, module in model.named_modules():
        for bname, b in module.named_buffers(recurse=False):
            if b is not None and bname not in module._non_persistent_buffers_set:
                out[f"{mname}.{bname}" if mname else bname] = b
    return out
