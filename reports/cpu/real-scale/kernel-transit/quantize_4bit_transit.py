"""Bytes per weight bitsandbytes holds while it quantizes one 4096 x 1024 weight to 4 bits on
CPU (its default backend's torch ops), every temporary mapped on its own (glibc's threshold at
128 KiB, as vlmq loads): the peak RSS growth of the call over the weight's elements.

    PYTHONPATH=$PWD python quantize_4bit_transit.py nf4|fp4 float32|bfloat16
"""

from __future__ import annotations

import sys

import bitsandbytes  # noqa: F401  (registers torch.ops.bitsandbytes)
import torch

from vlmq.measure.memory import PeakMemory, large_frees_returned

quant_type, dtype = sys.argv[1], getattr(torch, sys.argv[2])
weight = torch.randn(4096, 1024).to(dtype)
with large_frees_returned(131072):
    torch.ops.bitsandbytes.quantize_4bit(weight[:64, :64].contiguous(), 64, quant_type,
                                         torch.uint8)  # first call: the library's own setup
    with PeakMemory("cpu") as mem:
        torch.ops.bitsandbytes.quantize_4bit(weight, 64, quant_type, torch.uint8)
print(quant_type, sys.argv[2], "bytes per weight",
      round(mem.result.growth_bytes / weight.numel(), 2))
