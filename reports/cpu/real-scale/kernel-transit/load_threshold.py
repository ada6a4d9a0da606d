"""Load peak of a variant as vlmq loads it, with glibc's mmap threshold during the load at
THRESHOLD bytes instead of vlmq's 1 MiB; then glibc's heap (mallinfo2) right after.

    PYTHONPATH=$PWD python load_threshold.py FOLDER VARIANT THRESHOLD
"""
from __future__ import annotations

import ctypes
import functools
import json
import sys

import vlmq.loading as loading
from vlmq.measure.memory import PeakMemory, _glibc, large_frees_returned


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def main() -> None:
    folder, variant, threshold = sys.argv[1], sys.argv[2], int(sys.argv[3])
    loading.large_frees_returned = functools.partial(large_frees_returned, threshold)
    # a first load imports the libraries (their code and heap are not the load's);
    # the second is measured
    loading.unload(loading.load_variant(folder, variant, device="cpu", measure_disk=False))
    with PeakMemory("cpu") as mem:
        loaded = loading.load_variant(folder, variant, device="cpu", measure_disk=False)
    f = _glibc("mallinfo2")
    f.restype = _Mallinfo2
    info = f()
    r = mem.result
    print(json.dumps({"variant": variant, "threshold": threshold,
                      "load_growth_mib": round((r.peak_bytes - r.start_bytes) / 2**20),
                      "end_growth_mib": round((r.end_bytes - r.start_bytes) / 2**20),
                      "load_s": round(loaded.load_time_s, 1),
                      "footprint_mib": round(loaded.footprint_bytes / 2**20),
                      "heap_mib": info.arena >> 20, "heap_free_mib": info.fordblks >> 20,
                      "mapped_mib": info.hblkhd >> 20}))


if __name__ == "__main__":
    main()
