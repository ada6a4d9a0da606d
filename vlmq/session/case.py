"""What a session runs: a Case (model x variant x attention) and the model a fixture holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    """One loaded model: the unit a session-scoped fixture holds in memory."""

    model: str
    variant: str
    attn: str = "sdpa"
    kv: str = "full"  # the KV cache setting (vlmq.kvcache)

    @property
    def variant_key(self) -> str:
        """The variant's name in run folders and results (attention noted when not sdpa, the
        KV cache when not full)."""
        key = self.variant if self.attn == "sdpa" else f"{self.variant}@{self.attn}"
        return key if self.kv == "full" else f"{key}@kv-{self.kv}"

    @property
    def id(self) -> str:
        return f"{self.model}-{self.variant_key}"


@dataclass
class Held:
    """The model a session-scoped fixture holds, and how the fixture loads it again: the
    `auto` looks set it aside (`released`) to extend the baseline with only one model in
    memory."""

    case: Case
    loaded: Any  # a vlmq.loading.LoadedModel
    reload: Callable[[], Any]

    @contextmanager
    def released(self) -> Iterator[None]:
        """The held model is unloaded inside, and loaded again (by the fixture) after."""
        from vlmq.loading import unload

        unload(self.loaded)
        try:
            yield
        finally:
            self.loaded = self.reload()
