"""Peak RSS growth of the first and of the second call of a loaded variant over 17 tiles
(threshold_cost.py's input, 4 new tokens), with glibc's running mmap threshold at THRESHOLD,
and glibc's heap (mallinfo2) after loading and after each call. CAST=1 casts every 4-bit
layer's bias to its compute dtype after loading (vlmq's `_cast_biases`, which vlmq's load
calls since the eleventh session); CAST=0 leaves it to the first call, as bitsandbytes does
(vlmq before). Run it on a commit before 2026-12-07 20:00 for CAST=0 to mean that.

    PYTHONPATH=$PWD python first_call_bias.py FOLDER VARIANT THRESHOLD CAST
"""

from __future__ import annotations

import json
import sys

from retention import heap
from threshold_cost import M_MMAP_THRESHOLD, _call, _glibc, _setup

from vlmq.measure.memory import PeakMemory, release_freed_memory
from vlmq.variants.bnb_4bit import _cast_biases

folder, variant, threshold = sys.argv[1], sys.argv[2], int(sys.argv[3])
loaded, inputs = _setup(folder, variant, 17)
cast = _cast_biases(loaded.model) if sys.argv[4] == "1" else 0
if cast:
    release_freed_memory()
_glibc("mallopt")(M_MMAP_THRESHOLD, threshold)
out = {"variant": variant, "threshold": threshold, "biases_cast_at_load": cast,
       "after_load": heap()}
for k in ("first", "second"):
    with PeakMemory("cpu") as mem:
        t = _call(loaded, inputs, 4)
    r = mem.result
    out[k] = {"growth_mib": round((r.peak_bytes - r.start_bytes) / 2**20),
              "prefill_s": round(t["prefill_s"], 1), "heap": heap()}
print(json.dumps(out))
