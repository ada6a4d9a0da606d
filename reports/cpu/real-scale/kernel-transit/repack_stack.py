"""RSS of the first and second forward through a stack of bitsandbytes nf4 (or int8) Linear
layers on CPU (nf4's first call repacks every weight), loaded the way vlmq loads (glibc's mmap
threshold at 1 MiB while quantizing, then 32 MiB), with the RSS after each layer of the first
call.

    PYTHONPATH=$PWD python repack_stack.py LAYERS IN OUT TOKENS DTYPE [nf4|int8] [MMAP_THRESHOLD]

MMAP_THRESHOLD (bytes) sets glibc's mmap threshold for the calls instead of vlmq's 32 MiB:
allocations at or above it are mapped on their own and returned when freed.
"""

from __future__ import annotations

import json
import logging
import sys

import torch

from vlmq.measure.memory import (
    PeakMemory,
    _glibc,
    current_rss,
    large_frees_returned,
    release_freed_memory,
)


def stack(layers: int, k: int, n: int, dtype: torch.dtype, kind: str) -> torch.nn.Sequential:
    import bitsandbytes as bnb

    mods = []
    for i in range(layers):
        a, b = (k, n) if i % 2 == 0 else (n, k)
        layer = (bnb.nn.Linear8bitLt(a, b, has_fp16_weights=False, threshold=6.0)
                 if kind == "int8" else
                 bnb.nn.Linear4bit(a, b, compute_dtype=torch.float32, compress_statistics=True,
                                   quant_type="nf4"))
        layer.load_state_dict(torch.nn.Linear(a, b).to(dtype).state_dict())
        mods.append(layer.to("cpu"))
    return torch.nn.Sequential(*mods).eval()


def main(layers: str, n_in: str, n_out: str, tokens: str, dtype_name: str,
         kind: str = "nf4", mmap_threshold: str = "") -> None:
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    torch.manual_seed(0)
    dtype = getattr(torch, dtype_name)
    start = current_rss()
    with large_frees_returned():
        model = stack(int(layers), int(n_in), int(n_out), dtype, kind)
    if mmap_threshold:
        _glibc("mallopt")(-3, int(mmap_threshold))  # M_MMAP_THRESHOLD
    release_freed_memory()
    steady = current_rss() - start
    packed = sum(p.numel() for p in model.parameters() if p.dtype in (torch.uint8, torch.int8))
    trace: list[int] = []
    hooks = [m.register_forward_hook(
        lambda *_: trace.append(round((current_rss() - start) / 2**20))) for m in model]
    with torch.inference_mode():
        x = torch.randn(int(tokens), int(n_in), dtype=dtype)
        with PeakMemory("cpu") as first:
            model(x)
        for hook in hooks:
            hook.remove()
        release_freed_memory()
        after = current_rss() - start
        with PeakMemory("cpu") as second:
            model(x)
    grew = [(m.result.peak_bytes - m.result.start_bytes) / 2**20 for m in (first, second)]
    print(json.dumps({"kind": kind, "layers": int(layers), "K": int(n_in), "N": int(n_out),
                      "M": int(tokens), "mmap_threshold": int(mmap_threshold or 32 << 20),
                      "dtype": dtype_name, "steady_mib": steady / 2**20,
                      "packed_mib": packed / 2**20, "first_call_growth_mib": grew[0],
                      "second_call_growth_mib": grew[1], "after_first_mib": after / 2**20,
                      "rss_after_each_layer_mib": trace}))


if __name__ == "__main__":
    main(*sys.argv[1:])
