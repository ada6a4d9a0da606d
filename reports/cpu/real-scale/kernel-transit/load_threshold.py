"""Load peak of a variant as vlmq loads it, with glibc's mmap threshold during the load at
THRESHOLD bytes instead of vlmq's default (1 MiB until the eleventh session, 128 KiB
since); then glibc's heap (mallinfo2) right after.

    PYTHONPATH=$PWD python load_threshold.py FOLDER VARIANT THRESHOLD
"""
from __future__ import annotations

import functools
import json
import sys

from retention import heap

import vlmq.loading as loading
from vlmq.measure.memory import PeakMemory, large_frees_returned


def main() -> None:
    folder, variant, threshold = sys.argv[1], sys.argv[2], int(sys.argv[3])
    loading.large_frees_returned = functools.partial(large_frees_returned, threshold)
    # a first load imports the libraries (their code and heap are not the load's);
    # the second is measured
    loading.unload(loading.load_variant(folder, variant, device="cpu", measure_disk=False))
    with PeakMemory("cpu") as mem:
        loaded = loading.load_variant(folder, variant, device="cpu", measure_disk=False)
    r = mem.result
    print(json.dumps({"variant": variant, "threshold": threshold,
                      "load_growth_mib": round(r.growth_bytes / 2**20),
                      "end_growth_mib": round((r.end_bytes - r.start_bytes) / 2**20),
                      "load_s": round(loaded.load_time_s, 1),
                      "footprint_mib": round(loaded.footprint_bytes / 2**20), **heap()}))


if __name__ == "__main__":
    main()
