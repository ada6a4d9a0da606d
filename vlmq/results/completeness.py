"""Is a set of shard run folders whole? Checked before `vlmq merge` joins them.

A merge of incomplete shards looks like a finished run with fewer entries ("0 of 0 gated
results passed"), so `vlmq merge` refuses, in one line each, when:
- a shard is given twice (the same folder, or two folders that ran the same part K/N);
- the shards do not cover every part of the plan (K of N given, or a folder that is no shard);
- a shard is unfinished: a task it started (records or a result stored) has no `.finished`
  mark, or it finished nothing at all (killed before its first task ended).
`--allow-incomplete` merges what there is; these lines are then printed as notes.
"""

from __future__ import annotations

from pathlib import Path

from vlmq.results.store import RunStore
from vlmq.shard import parse_shard


def merge_gaps(stores: list[RunStore]) -> list[str]:
    """One line per reason the shards cannot make a complete run; empty when they can."""
    return _twice(stores) + _coverage(stores) + [line for s in stores for line in _unfinished(s)]


def _twice(stores: list[RunStore]) -> list[str]:
    seen: dict[Path, RunStore] = {}
    out = []
    for store in stores:
        root = store.root.resolve()
        if root in seen:
            out.append(f"{store.root} is given twice")
        seen.setdefault(root, store)
    return out


def _coverage(stores: list[RunStore]) -> list[str]:
    parts: dict[tuple[int, int], list[RunStore]] = {}
    out = []
    for store in dict((s.root.resolve(), s) for s in stores).values():
        part = parse_shard(str(store.read_config().get("shard") or ""))
        if part is None:
            out.append(f"{store.root} is not a shard (it ran without --vlmq-shard K/N)")
            continue
        parts.setdefault(part, []).append(store)
    for (k, n), same in parts.items():
        if len(same) > 1:
            out.append(f"{' and '.join(str(s.root) for s in same)} both ran part {k}/{n}")
    counts = {n for _, n in parts}
    if len(counts) > 1:
        out.append(f"the shards split the plan differently (N = {', '.join(map(str, counts))})")
    elif counts:
        n = counts.pop()
        given = sorted({k for k, _ in parts})
        missing = [f"{k}/{n}" for k in range(1, n + 1) if k not in given]
        if missing:
            out.append(f"the shards cover {len(given)} of {n} parts of the plan; missing: "
                       f"{', '.join(missing)}")
    return out


def _unfinished(store: RunStore) -> list[str]:
    started = {p.relative_to(store.root / "records").with_suffix("")
               for p in (store.root / "records").glob("*/*/*.jsonl")}
    started |= {p.relative_to(store.root / "results").with_suffix("")
                for p in (store.root / "results").glob("*/*/*.json")}
    open_tasks = sorted(str(t) for t in started
                        if not (store.root / "results" / t).with_suffix(".finished").is_file())
    if open_tasks:
        return [f"{store.root} is unfinished: {len(open_tasks)} task(s) without a finished "
                f"mark ({', '.join(open_tasks[:3])}{' ...' if len(open_tasks) > 3 else ''}); "
                "resume it with the same --vlmq-run-id and --vlmq-shard"]
    if not started and not store.skips():
        return [f"{store.root} is unfinished: it finished no task"]
    return []
