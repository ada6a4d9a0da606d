"""What glibc's mmap threshold while the model runs does to a real-size generate call: its
memory (one fresh process per threshold) and its time (both thresholds in one process,
alternating, since this machine's processes differ by up to 1.3x).

    PYTHONPATH=$PWD python threshold_cost.py peak FOLDER VARIANT THRESHOLD [TILES] [TOKENS]
    PYTHONPATH=$PWD python threshold_cost.py time FOLDER VARIANT A,B [TILES] [TOKENS] [PAIRS]

The model loads as vlmq loads it (`load_variant`, glibc's threshold at 1 MiB while loading);
then THRESHOLD (bytes) is set for the calls. `peak`: one warm-up call, then the growth of the
peak RSS over the second (vlmq's PeakMemory). `time`: PAIRS pairs of calls, one at each
threshold, alternating which goes first; per threshold the median call, prefill (first step)
and decode step (the harness's step timer), the minor page faults of a call, and the median
of the per-pair ratios B / A.
`time` does not show what mapping costs: glibc maps a block only when no freed heap chunk
fits it, and the calls at the higher threshold leave the heap full of such chunks, so the calls
at the lower one reuse them (2026-12-07: the same speed in one process, 1.5x slower prefill in
a fresh one; `minor_faults` tells). Compare `peak` processes for the cost.
An image of TILES 512-pixel tiles' size (SmolVLM splits 2048 px into 16 tiles and a global
view), captioned for TOKENS new tokens (end-of-sequence suppressed).
"""

from __future__ import annotations

import json
import logging
import resource
import statistics
import sys
from itertools import pairwise

from PIL import Image

from vlmq.loading import load_variant
from vlmq.measure.memory import PeakMemory, _glibc

M_MMAP_THRESHOLD = -3


def _setup(folder: str, variant: str, tiles: int) -> tuple:
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    loaded = load_variant(folder, variant, measure_disk=False)
    side = 512 * max(1, round((tiles - 1) ** 0.5)) if tiles > 1 else 512
    image = Image.new("RGB", (side, side), (120, 60, 200))
    adapter, model = loaded.adapter, loaded.model
    inputs = adapter.to_device(model, adapter.prepare(loaded.processor, [image],
                                                      ["Describe the image."]))
    return loaded, inputs


def _call(loaded, inputs, tokens: int) -> dict:
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    call = loaded.adapter.timed_call(loaded.model, inputs, tokens, {"fixed_new_tokens": True})
    steps = [b - a for a, b in pairwise(call.token_times_s)]
    return {"call_s": call.seconds,  # a classifier has no steps: its call is its prefill
            "prefill_s": call.token_times_s[0] if call.token_times_s else call.seconds,
            "step_s": statistics.median(steps) if steps else None,
            "minor_faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults}


def peak(folder: str, variant: str, threshold: str, tiles: str = "17",
         tokens: str = "4") -> None:
    loaded, inputs = _setup(folder, variant, int(tiles))
    _glibc("mallopt")(M_MMAP_THRESHOLD, int(threshold))
    _call(loaded, inputs, int(tokens))
    with PeakMemory("cpu") as mem:
        timing = _call(loaded, inputs, int(tokens))
    print(json.dumps({"mode": "peak", "variant": variant, "threshold": int(threshold),
                      "tiles": int(tiles), "tokens": int(tokens),
                      "input_ids": int(inputs["input_ids"].shape[-1]),
                      "start_mib": round(mem.result.start_bytes / 2**20),
                      "peak_growth_mib": round((mem.result.peak_bytes - mem.result.start_bytes)
                                               / 2**20), **timing}))


def time_pairs(folder: str, variant: str, thresholds: str, tiles: str = "17",
               tokens: str = "4", pairs: str = "6") -> None:
    loaded, inputs = _setup(folder, variant, int(tiles))
    a, b = (int(t) for t in thresholds.split(","))
    mallopt = _glibc("mallopt")
    got: dict[int, list[dict]] = {a: [], b: []}
    for t in (a, b):  # a warm-up call at each
        mallopt(M_MMAP_THRESHOLD, t)
        _call(loaded, inputs, int(tokens))
    for k in range(int(pairs)):
        for t in ((a, b) if k % 2 == 0 else (b, a)):
            mallopt(M_MMAP_THRESHOLD, t)
            got[t].append(_call(loaded, inputs, int(tokens)))
    out = {"mode": "time", "variant": variant, "tiles": int(tiles), "tokens": int(tokens),
           "pairs": int(pairs), "thresholds": [a, b]}
    for key in ("call_s", "prefill_s", "step_s", "minor_faults"):
        for t in (a, b):
            out[f"{key}_median_{t}"] = statistics.median(c[key] for c in got[t])
        out[f"{key}_ratio_{b}_over_{a}"] = statistics.median(
            y[key] / x[key] for x, y in zip(got[a], got[b], strict=True))
    print(json.dumps(out))


if __name__ == "__main__":
    {"peak": peak, "time": time_pairs}[sys.argv[1]](*sys.argv[2:])
