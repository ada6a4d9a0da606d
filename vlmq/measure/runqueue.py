"""How long the calling thread waited for a CPU core while it could have run.

Linux's scheduler keeps, per thread, the time it spent runnable but not running: waiting in a
run queue for a core that another thread held (/proc/thread-self/schedstat, second field, in
ns; schedstat's documentation: Documentation/scheduler/sched-stats.rst). A model call on a CPU
runs on the calling thread (thread 0 of torch's pool), so on a machine whose cores are free
this wait stays near zero, and another process taking cores shows up in it directly, however
the pool's spinning threads keep the process's CPU time up (vlmq.measure.interference). A
thread that sleeps, or works longer in-process, does not wait in a run queue: the figure tells
"the machine was busy" from "the call did more".

None where the kernel does not expose it (not Linux, or schedstats compiled out).
"""

from __future__ import annotations

from pathlib import Path

SCHEDSTAT = Path("/proc/thread-self/schedstat")


def waited_s() -> float | None:
    """The calling thread's total run-queue wait so far, in seconds; None where unknown."""
    try:
        return int(SCHEDSTAT.read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def since(start: float | None) -> float | None:
    """Run-queue wait since `start` (a `waited_s()` reading); None when either is unknown."""
    now = waited_s()
    return None if start is None or now is None else max(0.0, now - start)
