"""`--vlmq-samples auto`: the subset grows in fixed looks until every gate is decided.

The looks are fixed before any data is seen: `start`, then doubled each time, at most `looks`
of them, the last one capped at the split's size (a split smaller than a look ends the
sequence there). At every look each undecided gate gets its interval again on the larger
subset (the finished samples are reused; only the new ones are evaluated), and the sequence
stops at the first look where every gate of the entry is `pass` or `fail`.

Looking several times at growing data and stopping when an interval clears the threshold would
make a wrong verdict more likely than 1 - confidence if each look used the run's confidence.
So the error rate is split evenly across the looks (Bonferroni): with K looks planned, each
interval is built at confidence 1 - (1 - c) / K. By the union bound, the chance that any look's
interval misses the true retention is at most 1 - c, so a variant whose true retention is at
(or above) its threshold is failed in at most (1 - c) / 2 of runs, and one at (or below) it is
passed in at most that, however many looks are taken. The cost is a wider interval at each
look (at c = 0.95 and K = 4, each look is a 98.75% interval). tests/test_sequential.py measures
these rates on simulated scores.
"""

from __future__ import annotations

AUTO = "auto"


def look_sizes(start: int, looks: int, split_size: int) -> list[int]:
    """The subset size of each look: start, 2 start, 4 start ... (at most `looks` of them),
    ending at the split's size when a look would reach it."""
    sizes: list[int] = []
    n = start
    while len(sizes) < looks:
        if n >= split_size:
            sizes.append(split_size)
            break
        sizes.append(n)
        n *= 2
    return sizes


def look_confidence(confidence: float, looks: int) -> float:
    """Each look's interval confidence when `looks` looks share the error rate 1 - confidence."""
    return 1 - (1 - confidence) / max(1, looks)
