"""One process: the median of 9 bursts of 256 MiB copies (best of 5 each, 0.25 s apart) on one
thread, then on two; one JSON line (GB/s).

    python one_and_two_threads.py
"""

import json
import statistics
import time

import torch

NB = 256 * 2**20


def bursts(src: torch.Tensor, dst: torch.Tensor, threads: int, n: int = 9, copies: int = 5,
           gap: float = 0.25) -> list[float]:
    torch.set_num_threads(threads)
    out = []
    for i in range(n):
        if i:
            time.sleep(gap)
        best = 0.0
        for _ in range(copies):
            t = time.perf_counter()
            dst.copy_(src)
            best = max(best, 2 * NB / (time.perf_counter() - t) / 1e9)
        out.append(best)
    return out


def main() -> None:
    src = torch.ones(NB, dtype=torch.uint8)
    dst = torch.empty_like(src)
    dst.copy_(src)
    row: dict[str, object] = {"at": time.strftime("%H:%M:%S")}
    for name, threads in (("one", 1), ("two", 2)):
        rates = bursts(src, dst, threads)
        row[f"{name}_median"] = round(statistics.median(rates), 1)
        row[f"{name}_range"] = [round(min(rates), 1), round(max(rates), 1)]
    print(json.dumps(row))


if __name__ == "__main__":
    main()
