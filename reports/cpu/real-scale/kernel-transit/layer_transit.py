"""Peak RSS one quantized Linear call adds over its input (one fresh process per kernel).

    PYTHONPATH=$PWD python layer_transit.py KIND DTYPE TOKENS IN OUT

KIND: dense, bnb-int8, bnb-nf4, torchao-dyn, torchao-wo, quanto-int8, quanto-int4, hqq8, hqq4.
Prints one JSON line: the growth in MiB, per token and per output element.
"""

from __future__ import annotations

import json
import logging
import sys

import torch

from vlmq.measure.memory import PeakMemory, release_freed_memory


def quantized(kind: str, dense: torch.nn.Linear, dtype: torch.dtype) -> torch.nn.Module:
    """`dense` as KIND's quantized layer (the way the vlmq recipe makes it)."""
    k, n = dense.in_features, dense.out_features
    if kind == "dense":
        return dense
    if kind.startswith("bnb"):
        import bitsandbytes as bnb

        layer = (bnb.nn.Linear8bitLt(k, n, has_fp16_weights=False, threshold=6.0)
                 if kind == "bnb-int8" else
                 bnb.nn.Linear4bit(k, n, compute_dtype=torch.float32, compress_statistics=True,
                                   quant_type="nf4"))
        layer.load_state_dict(dense.state_dict())
        return layer.to("cpu")
    if kind.startswith("hqq"):
        from hqq.core.quantize import BaseQuantizeConfig, HQQLinear

        return HQQLinear(dense, BaseQuantizeConfig(nbits=int(kind[-1]), group_size=64),
                         compute_dtype=dtype, device="cpu")
    holder = torch.nn.Sequential(dense)
    if kind.startswith("quanto"):
        import optimum.quanto as q

        q.quantize(holder, weights=q.qint8 if kind == "quanto-int8" else q.qint4)
        with torch.inference_mode():
            q.freeze(holder)
        return holder[0]
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        quantize_,
    )

    quantize_(holder, Int8DynamicActivationInt8WeightConfig() if kind == "torchao-dyn"
              else Int8WeightOnlyConfig())
    return holder[0]


def main(kind: str, dtype_name: str, tokens: str, n_in: str, n_out: str) -> None:
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    dtype, m, k, n = getattr(torch, dtype_name), int(tokens), int(n_in), int(n_out)
    layer = quantized(kind, torch.nn.Linear(k, n).to(dtype), dtype).eval()
    with torch.inference_mode():
        layer(torch.randn(8, k, dtype=dtype))  # the first call (repack, state) outside
        x = torch.randn(m, k, dtype=dtype)
        release_freed_memory()
        with PeakMemory("cpu") as mem:
            layer(x)
    grew = mem.result.peak_bytes - mem.result.start_bytes
    print(json.dumps({"kind": kind, "dtype": dtype_name, "M": m, "K": k, "N": n,
                      "peak_growth_mib": grew / 2**20, "bytes_per_token": grew / m,
                      "bytes_per_weight": grew / (k * n)}))


if __name__ == "__main__":
    main(*sys.argv[1:])
