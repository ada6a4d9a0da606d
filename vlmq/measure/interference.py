"""Which timed calls another process slowed down: each call's process CPU time against its wall.

The rule (CPU devices). During a model call on a CPU the calling thread never waits for
anything outside the process: no disk, no network, no device to synchronize with; the
`threads` compute threads of torch work in parallel regions and spin at their barriers. So a
call of wall time W uses C process CPU-seconds with

    W <= C <= threads x W            (utilization u = C / W lies between 1 and `threads`)

when the process has its cores. Another process taking a core does not change the work (C),
only the wall time: u falls. Calls that do the same work (the batches of one task) run at about
the same utilization, so a call is *interfered* when

    u < (1 - TOLERANCE) x max(1, u_quiet)

where u_quiet is the highest utilization among the task's calls (capped at `threads`): the
calling thread alone explains one CPU-second per wall second (the floor 1), and the task's
quietest call shows what the parallel part adds. A call whose wall time exceeds what its own
CPU time explains by more than the tolerance waited for cores that some other process had.
TOLERANCE covers the call-to-call spread of utilization on a quiet machine (timer resolution,
a garbage collection). The rule is one-sided: it never calls a slow call *quiet* because of its
own work, and it cannot see interference that spinning threads mask, so it undercounts.

On CUDA the calling thread waits for the device inside synchronize, so CPU time does not
explain wall time there: nothing is flagged (`applies` is False) and the note says so.
Torch-free: the results and reports read it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

T = TypeVar("T")

TOLERANCE = 0.2
RULE = (f"interfered: process CPU time / wall time < {1 - TOLERANCE:.1f} x max(1, the task's "
        f"highest utilization, capped at the thread count)")


@dataclass(frozen=True)
class Interference:
    """Per timed call: its utilization and whether another process slowed it."""

    applies: bool  # False where CPU time cannot explain wall time (a GPU), or no CPU times
    utilization: list[float | None]
    interfered: list[bool]
    reference: float | None  # the utilization a quiet call of this task reaches
    note: str

    @property
    def count(self) -> int:
        return sum(self.interfered)

    @property
    def mostly(self) -> bool:
        """More than half of the calls were interfered: the timing describes the machine."""
        return 2 * self.count > len(self.interfered)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(rounds=len(self.interfered), count=self.count, rule=RULE)
        return out


def detect(wall_s: Sequence[float], cpu_s: Sequence[float | None], threads: int,
           device: str = "cpu") -> Interference:
    """Flag the calls among (wall, CPU) pairs of one task that waited for cores (module doc)."""
    n = len(wall_s)
    usage = [None if c is None or w <= 0 else c / w for w, c in zip(wall_s, cpu_s, strict=True)]
    known = [u for u in usage if u is not None]
    if not str(device).startswith("cpu"):
        return Interference(False, usage, [False] * n, None,
                            "not judged on a GPU: the calling thread waits for the device, so "
                            "CPU time does not explain wall time")
    if not known:
        return Interference(False, usage, [False] * n, None, "no CPU time recorded")
    reference = min(max(known), float(max(1, threads)))
    bar = (1 - TOLERANCE) * max(1.0, reference)
    flags = [u is not None and u < bar for u in usage]
    return Interference(True, usage, flags, reference,
                        f"{sum(flags)} of {n} timed calls interfered ({RULE})")


def slowdown(utilization: Sequence[float | None], interfered: Sequence[bool],
             reference: float | None) -> float:
    """The largest factor by which interference stretched one of the calls (1.0: none seen):
    the quiet utilization over the call's own."""
    if not reference:
        return 1.0
    floor = max(1.0, reference)
    return max([floor / u for u, bad in zip(utilization, interfered, strict=True) if bad and u],
               default=1.0)


def clean(values: Sequence[T], flags: Sequence[bool]) -> list[T]:
    """The values of the calls not interfered, or all of them when most were (the statistic
    then describes a busy machine; the entry says so)."""
    kept = [v for v, bad in zip(values, flags, strict=True) if not bad]
    return kept if 2 * len(kept) >= len(values) and kept else list(values)


def single_interfered(wall_s: float | None, cpu_s: float | None, device: str = "cpu"
                      ) -> bool | None:
    """For a one-off call (the first call, loading): only the floor applies, since no sibling
    shows its quiet utilization; None where it cannot be told."""
    if wall_s is None or cpu_s is None or wall_s <= 0 or not str(device).startswith("cpu"):
        return None
    return cpu_s / wall_s < 1 - TOLERANCE
