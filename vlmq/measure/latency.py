"""The one latency timer: synchronized wall time of a block of work on a device."""

from __future__ import annotations

import time
from typing import Any

from vlmq.devices import is_cuda
from vlmq.measure import runqueue


def synchronize(device: Any) -> None:
    """Wait for queued GPU work on `device`, so that wall-clock time covers it (no-op on CPU)."""
    if is_cuda(device):
        import torch

        torch.cuda.synchronize(device)


class Timer:
    """Times one block on `device`: `with Timer(device) as t: work()`, then `t.seconds` (wall
    time), `t.cpu_seconds` (this process's CPU time over the same region) and `t.wait_seconds`
    (how long the calling thread waited for a core meanwhile, vlmq.measure.runqueue; None where
    unknown), which vlmq.measure.interference sets against the wall time.

    CUDA is synchronized on entry (earlier queued work does not count) and on exit (the block's
    own queued work does); `start` is the block's perf_counter origin, for marks taken inside it.
    """

    def __init__(self, device: Any = "cpu") -> None:
        self.device = device
        self.start = 0.0
        self.seconds = 0.0
        self.cpu_seconds = 0.0
        self.wait_seconds: float | None = None
        self._cpu_start = 0.0
        self._wait_start: float | None = None

    def __enter__(self) -> Timer:
        synchronize(self.device)
        self._wait_start = runqueue.waited_s()
        self._cpu_start = time.process_time()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        synchronize(self.device)
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self._cpu_start
        self.wait_seconds = runqueue.since(self._wait_start)
