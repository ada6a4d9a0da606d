"""What glibc keeps of one tiled bitsandbytes int8 call, and which of the kernel's temporaries
make it keep it (2026-12-07, issue 21).

    PYTHONPATH=$PWD python retention.py FOLDER VARIANT INT8_THRESHOLD [TILES] [TOKENS] [UNPIN]

The model loads as vlmq loads it (`load_variant`, glibc's mmap threshold at 1 MiB while
loading, 32 MiB, vlmq's, while running), with LLM.int8's outlier threshold INT8_THRESHOLD
(0: no outlier decomposition). One warm-up call, then the second call's peak RSS growth
(vlmq's PeakMemory) and, right after it and before any trim, glibc's own account of its heap
(mallinfo2): `heap_mib` (arena: the heap's size), `heap_free_mib` (fordblks: freed chunks the
heap keeps), `mapped_mib` (hblkhd: blocks mapped on their own). The input is threshold_cost.py's.
"""

from __future__ import annotations

import ctypes
import json
import sys

from threshold_cost import M_MMAP_THRESHOLD, _call, _glibc, _setup

from vlmq.measure.memory import PeakMemory
from vlmq.variants.settings import VariantSettings


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def heap() -> dict[str, int]:
    mallinfo2 = _glibc("mallinfo2")
    mallinfo2.restype = _Mallinfo2
    info = mallinfo2()
    return {"heap_mib": info.arena >> 20, "heap_free_mib": info.fordblks >> 20,
            "free_chunks": info.ordblks, "mapped_mib": info.hblkhd >> 20}


def _unpin() -> None:
    """LLM.int8 keeps each call's outlier column indices on the layer (`state.idx`) until its next
    call: a small live block allocated among the call's temporaries. Drop it after the call."""
    import bitsandbytes.autograd._functions as functions

    forward = functions.MatMul8bitLt.forward

    def dropping(ctx, A, B, out=None, bias=None, state=None):  # noqa: ANN001, N803
        result = forward(ctx, A, B, out, bias, state)
        if state is not None:
            state.idx = None
        return result

    functions.MatMul8bitLt.forward = staticmethod(dropping)


def _watch_layers(model) -> list[tuple[str, int]]:  # noqa: ANN001
    """The heap's size (MiB) after each transformer layer's forward, in call order."""
    seen: list[tuple[str, int]] = []
    for name, module in model.named_modules():
        if name.endswith(tuple(f"layers.{i}" for i in range(100))):
            module.register_forward_hook(
                lambda m, a, o, name=name: seen.append((name, heap()["heap_mib"])))
    return seen


def main(folder: str, variant: str, int8_threshold: str, tiles: str = "17",
         tokens: str = "4", unpin: str = "0") -> None:
    import vlmq.loading

    if unpin == "1":
        _unpin()

    settings = VariantSettings(int8_threshold=float(int8_threshold))
    original = vlmq.loading.load_variant
    vlmq.loading.load_variant = lambda *a, **k: original(*a, settings=settings, **k)
    import threshold_cost

    threshold_cost.load_variant = vlmq.loading.load_variant
    loaded, inputs = _setup(folder, variant, int(tiles))
    _glibc("mallopt")(M_MMAP_THRESHOLD, 32 << 20)
    seen = _watch_layers(loaded.model)
    start = heap()
    _call(loaded, inputs, int(tokens))
    layers = len({name for name, _ in seen})
    first = [mib for _, mib in seen[:layers]]
    seen.clear()
    before = heap()
    with PeakMemory("cpu") as mem:
        timing = _call(loaded, inputs, int(tokens))
    print(json.dumps({"variant": variant, "int8_threshold": float(int8_threshold),
                      "tiles": int(tiles), "tokens": int(tokens),
                      "peak_growth_mib": round((mem.result.peak_bytes - mem.result.start_bytes)
                                               / 2**20),
                      "unpinned": unpin == "1", "outlier_layers": _outlier_layers(loaded.model),
                      "start": start, "first_call_layers": first, "before": before,
                      "after": heap(), "layers": [mib for _, mib in seen[:layers]], **timing}))


def _outlier_layers(model) -> list[int]:  # noqa: ANN001
    """[LLM.int8 layers whose last call found outlier columns, LLM.int8 layers]."""
    states = [m.state for m in model.modules() if type(m).__name__ == "Linear8bitLt"]
    return [sum(1 for s in states if s.idx is not None and s.idx.numel()), len(states)]


if __name__ == "__main__":
    main(*sys.argv[1:])
