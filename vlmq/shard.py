"""Shards: a deterministic split of a run's cases over N independent processes or machines.

`--vlmq-shard K/N` keeps the K-th of N parts of the case list (model x variant x attention, in
the session's order), dealt round-robin, so every model x variant runs whole on one shard and
shards get a similar mix of cheap and expensive variants. Any scheduler that can start N jobs
with an index (a CI matrix, a Slurm array, Kubernetes indexed jobs) can run them; `vlmq merge`
joins their run folders. A shard that does not hold a model's baseline computes the baseline's
scores where it needs them for retention (as a run with a deselected baseline does), and the
merge keeps the shard whose part held it.
"""

from __future__ import annotations

import re
from typing import TypeVar

from vlmq.errors import VlmqError

T = TypeVar("T")
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(spec: str) -> tuple[int, int] | None:
    """'2/4' -> (2, 4); '' -> None (no sharding)."""
    if not spec.strip():
        return None
    if not is_shard(spec):
        raise VlmqError(f"--vlmq-shard {spec!r}: expected K/N with 1 <= K <= N, e.g. 1/4")
    m = _SPEC.match(spec)
    assert m is not None
    return int(m[1]), int(m[2])


def is_shard(spec: str) -> bool:
    """'' or 'K/N' with 1 <= K <= N."""
    m = _SPEC.match(spec)
    return not spec.strip() or bool(m and 1 <= int(m[1]) <= int(m[2]))


def shard_items(items: list[T], spec: str) -> list[T]:
    """The items of shard K/N: positions K-1, K-1+N, K-1+2N ... of `items`."""
    parsed = parse_shard(spec)
    if parsed is None:
        return list(items)
    k, n = parsed
    return items[k - 1::n]
