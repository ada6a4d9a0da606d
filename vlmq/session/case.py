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


class Held:
    """The model a session-scoped fixture holds, loaded on first use: a resumed run whose
    tasks of this case are all finished reuses their stored results without loading it. The
    `auto` looks set it aside (`released`) to extend the baseline with only one model in
    memory. A load that could not happen here (UnavailableError) is not tried again."""

    def __init__(self, case: Case, load: Callable[[], Any]) -> None:
        self.case = case
        self._load = load
        self._loaded: Any = None  # a vlmq.loading.LoadedModel once loaded
        self._unavailable: Exception | None = None

    @property
    def loaded(self) -> Any:
        if self._unavailable is not None:
            raise self._unavailable
        if self._loaded is None:
            from vlmq.errors import UnavailableError

            try:
                self._loaded = self._load()
            except UnavailableError as exc:
                self._unavailable = exc
                raise
        return self._loaded

    def unload(self) -> None:
        """Free the model if it was loaded (the fixture's teardown)."""
        from vlmq.loading import unload

        if self._loaded is not None:
            unload(self._loaded)
            self._loaded = None

    @contextmanager
    def released(self) -> Iterator[None]:
        """The held model is unloaded inside, and loaded again on next use after."""
        self.unload()
        yield
