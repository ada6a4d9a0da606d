"""A deployment budget: the limits a shipped variant must meet and what to rank the rest by.

Given as `--vlmq-budget KEY=VALUE` (repeatable), `vlmq_budget` lines in pytest.ini, a `budget:`
mapping in the YAML config, or `vlmq recommend`'s own options. Plain data; checked when the
config is built, so a misspelt key fails at once.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, fields
from typing import Any

from vlmq.errors import VlmqError

RANK_BY = ("memory", "latency", "energy")


@dataclass(frozen=True)
class Budget:
    max_memory_mib: float | None = None  # the variant's footprint
    max_latency_ratio: float | None = None  # median batch latency / the baseline's, every task
    max_energy_ratio: float | None = None  # energy per sample / the baseline's, every task
    tasks: tuple[str, ...] = ()  # the tasks that matter; empty = every task a model ran
    models: tuple[str, ...] = ()  # the models to choose among; empty = all
    rank_by: str = "memory"

    @property
    def limits(self) -> dict[str, float]:
        """The constraints that are set, by name."""
        return {k: v for k, v in (("max_memory_mib", self.max_memory_mib),
                                  ("max_latency_ratio", self.max_latency_ratio),
                                  ("max_energy_ratio", self.max_energy_ratio)) if v is not None}

    @classmethod
    def from_mapping(cls, values: dict[str, Any], where: str = "budget") -> Budget:
        """A Budget from {key: text or value}; a one-line VlmqError for a bad key or value."""
        names = [f.name for f in fields(cls)]
        out: dict[str, Any] = {}
        for key, raw in values.items():
            if raw is None or raw == "" or raw == ():
                continue
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise VlmqError(f"{where}: unknown key {key!r}{hint}; use {', '.join(names)}")
            out[key] = _value(key, raw, where)
        return cls(**out)


def _value(key: str, raw: Any, where: str) -> Any:
    if key in ("tasks", "models"):
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        return tuple(str(x).strip() for x in items if str(x).strip())
    if key == "rank_by":
        if raw not in RANK_BY:
            raise VlmqError(f"{where}: rank_by {raw!r} is not one of {', '.join(RANK_BY)}")
        return raw
    try:
        number = float(raw)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise VlmqError(f"{where}: {key} {raw!r} is not a positive number")
    return number
