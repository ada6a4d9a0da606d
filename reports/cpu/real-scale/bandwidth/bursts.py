"""Bursts of 256 MiB copies for SECONDS, GAP seconds apart, on THREADS threads; prints each
burst's best copy in GB/s (2 x bytes / time: a copy reads and writes the buffer).

    python bursts.py SECONDS GAP THREADS COPIES
"""

import json
import sys
import time

import torch


def main(seconds: float, gap: float, threads: int, copies: int) -> None:
    torch.set_num_threads(threads)
    nb = 256 * 2**20
    src = torch.ones(nb, dtype=torch.uint8)  # written: real pages, not the shared zero page
    dst = torch.empty_like(src)
    dst.copy_(src)
    start, bursts = time.time(), []
    while time.time() - start < seconds:
        best = 0.0
        for _ in range(copies):
            t = time.perf_counter()
            dst.copy_(src)
            best = max(best, 2 * nb / (time.perf_counter() - t) / 1e9)
        bursts.append(round(best, 1))
        time.sleep(gap)
    print(json.dumps(bursts))


if __name__ == "__main__":
    main(float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
