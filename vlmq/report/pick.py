"""Which metric stands for a kind in plots and tables (one latency, one quality ...).

Metric names belong to the measuring code, so the choice goes by kind plus a preference for
the usual headline statistic, never by a fixed list of names.
"""

from __future__ import annotations

from vlmq.results.schema import Measurement, TaskResult

# Substrings preferred, in order, when several metrics share a kind.
PREFER = {
    "latency": ("p50", "median", "mean"),
    "throughput": ("per_s", "samples", "tokens"),
    "memory": ("peak",),
    "size": ("disk", "size"),
    "energy": ("per_sample",),
}


def primary(results: list[TaskResult], kind: str) -> Measurement | None:
    """The headline metric of `kind` over these results, or None when none has a value."""
    found: dict[str, Measurement] = {}
    gated: list[str] = []
    for r in results:
        for name, m in r.metrics.items():
            if m.kind == kind and m.value is not None:
                found.setdefault(name, m)
        gated += [n for n in r.thresholds if n not in gated]
    if not found:
        return None
    if kind == "quality":
        for name in gated:
            if name in found:
                return found[name]
    for word in PREFER.get(kind, ()):
        for name, m in found.items():
            if word in name:
                return m
    return next(iter(found.values()))


def value(result: TaskResult, name: str) -> float | None:
    m = result.metrics.get(name)
    return None if m is None else m.value


def label(m: Measurement) -> str:
    """An axis label: 'name (unit)'."""
    return f"{m.name} ({m.unit})" if m.unit else m.name
