"""Time HQQ's quantizer on CPU: three 2048 -> 11008 bfloat16 Linear layers (Qwen2.5-VL-3B's MLP
shape), glibc's mmap threshold at THRESHOLD bytes; wall, user and system seconds and minor
page faults (one JSON line).

    PYTHONPATH=$PWD python hqq_quantize_time.py THRESHOLD BITS
"""

import json
import resource
import sys
import time

import torch

from vlmq.measure.memory import _glibc


def main(threshold: int, bits: int) -> None:
    _glibc("mallopt")(-3, threshold)  # M_MMAP_THRESHOLD
    from hqq.core.quantize import BaseQuantizeConfig, HQQLinear

    torch.manual_seed(0)
    layers = [torch.nn.Linear(2048, 11008, bias=False).to(torch.bfloat16) for _ in range(3)]
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for layer in layers:
        HQQLinear(layer, BaseQuantizeConfig(nbits=bits, group_size=64),
                  compute_dtype=torch.bfloat16, device="cpu")
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"threshold": threshold, "bits": bits, "layers": 3,
                      "wall_s": round(time.perf_counter() - start, 1),
                      "user_s": round(after.ru_utime - before.ru_utime, 1),
                      "sys_s": round(after.ru_stime - before.ru_stime, 1),
                      "minor_faults": after.ru_minflt - before.ru_minflt,
                      "script": "hqq_quantize_time.py", "date": "2026-12-07"}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
