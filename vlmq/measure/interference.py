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

The second rule: the calling thread's run-queue wait (vlmq.measure.runqueue). The pool's
threads spin at their barriers, and a spinning thread keeps using CPU while the calling thread
waits for a core, so a hog beside a whole task keeps u at the share of the cores the process got
(measured: 2 threads beside 2 busy loops on 2 cores, every call of the task at u ~ 0.97 against
1.98 in the quiet run; the first rule saw nothing, since the task had no quiet call). The wait
sees it directly: a call is also interfered when

    run-queue wait of the calling thread > TOLERANCE x W

It is zero for a call that sleeps or does more work in-process (those wait for nothing), so
neither rule calls a genuinely slower call interfered: a call that works longer uses more CPU
time and waits no longer for a core. One exception: a process running more busy threads than
the machine has cores (a thread count above the core count, a busy producer thread beside the
call) waits for its own threads, and its calls are flagged too.

Single-shot regions (the first call, loading) have no sibling calls: they get the floor of the
first rule (u < 1 - TOLERANCE: a stall or a lost core) and the wait rule.

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
        f"highest utilization, capped at the thread count), or the calling thread waited for a "
        f"core (run queue) > {TOLERANCE:.1f} x wall time")


@dataclass(frozen=True)
class Interference:
    """Per timed call: its utilization and whether another process slowed it."""

    applies: bool  # False where CPU time cannot explain wall time (a GPU), or no CPU times
    utilization: list[float | None]
    interfered: list[bool]
    reference: float | None  # the utilization a quiet call of this task reaches
    note: str
    waited: list[float | None] | None = None  # run-queue wait / wall time per call

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
           device: str = "cpu", wait_s: Sequence[float | None] | None = None) -> Interference:
    """Flag the calls among (wall, CPU, run-queue wait) of one task that waited for cores
    (module doc); `wait_s` None or None items where the wait was not measured."""
    n = len(wall_s)
    usage = [None if c is None or w <= 0 else c / w for w, c in zip(wall_s, cpu_s, strict=True)]
    waited = [_share(w, q) for w, q in zip(wall_s, wait_s or [None] * n, strict=True)]
    known = [u for u in usage if u is not None]
    if not str(device).startswith("cpu"):
        return Interference(False, usage, [False] * n, None,
                            "not judged on a GPU: the calling thread waits for the device, so "
                            "CPU time does not explain wall time", waited)
    if not known:
        return Interference(False, usage, [False] * n, None, "no CPU time recorded", waited)
    reference = min(max(known), float(max(1, threads)))
    bar = (1 - TOLERANCE) * max(1.0, reference)
    flags = [(u is not None and u < bar) or _queued(q) for u, q in zip(usage, waited, strict=True)]
    return Interference(True, usage, flags, reference,
                        f"{sum(flags)} of {n} timed calls interfered ({RULE})", waited)


def _share(wall_s: float, wait_s: float | None) -> float | None:
    return None if wait_s is None or wall_s <= 0 else wait_s / wall_s


def _queued(waited: float | None) -> bool:
    """The calling thread waited for a core for more than the tolerated share of the call."""
    return waited is not None and waited > TOLERANCE


def slowdown(utilization: Sequence[float | None], interfered: Sequence[bool],
             reference: float | None, waited: Sequence[float | None] | None = None) -> float:
    """The largest factor by which interference stretched one of the calls (1.0: none seen):
    the quiet utilization over the call's own, or 1 / (1 - its run-queue share) when the
    calling thread waited for a core (it ran that much less of the call than it could have)."""
    waited = waited or [None] * len(interfered)
    floor = max(1.0, reference or 0.0)
    factors = [max(floor / u if reference and u else 1.0, 1 / (1 - q) if q and q < 1 else 1.0)
               for u, bad, q in zip(utilization, interfered, waited, strict=True) if bad]
    return max(factors, default=1.0)


def clean(values: Sequence[T], flags: Sequence[bool]) -> list[T]:
    """The values of the calls not interfered, or all of them when most were (the statistic
    then describes a busy machine; the entry says so)."""
    kept = [v for v, bad in zip(values, flags, strict=True) if not bad]
    return kept if 2 * len(kept) >= len(values) and kept else list(values)


def single_interfered(wall_s: float | None, cpu_s: float | None, device: str = "cpu",
                      wait_s: float | None = None) -> bool | None:
    """For a one-off region (the first call, loading): the floor of the utilization rule, since
    no sibling shows its quiet utilization, or the run-queue wait rule; None where neither can
    be told."""
    if wall_s is None or wall_s <= 0 or not str(device).startswith("cpu"):
        return None
    if cpu_s is None and wait_s is None:
        return None
    stalled = cpu_s is not None and cpu_s / wall_s < 1 - TOLERANCE
    return stalled or _queued(_share(wall_s, wait_s))
