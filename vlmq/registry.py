"""A small name -> object registry with did-you-mean errors, filled from entry points.

Each registry may name an entry-point group (`vlmq.variants`, `vlmq.models`, `vlmq.tasks`,
`vlmq.datasets`). On first read it imports every module listed in that group by any installed
distribution, vlmq's own first; importing a module is what registers its objects (the module
calls `REGISTRY.add`). So a new variant, model family, task or dataset is one module plus one
entry-point line, in vlmq's own pyproject.toml or in any other package's:

    [project.entry-points."vlmq.variants"]
    my_backend = "my_package.my_backend"

A module that fails to import stops the run with one line naming the entry point.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from vlmq.errors import VlmqError

T = TypeVar("T")

OWN_DISTRIBUTION = "vlmq"


class Registry(Generic[T]):
    """Maps names to objects; unknown names raise a VlmqError that lists close matches.

    `group`: the entry-point group read on first use. `order`: a sort key applied to the
    objects when listing them (stable, so ties keep registration order).
    """

    def __init__(self, kind: str, group: str | None = None,
                 order: Callable[[T], Any] | None = None) -> None:
        self.kind = kind
        self.group = group
        self._order = order
        self._items: dict[str, T] = {}
        self._discovered = group is None
        self._discovering = False

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise VlmqError(f"{self.kind} {name!r} is registered twice; pick another name")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""

        def deco(item: T) -> T:
            return self.add(name, item)

        return deco

    def discover(self) -> None:
        """Import every module of this registry's entry-point group, once."""
        if self._discovered or self._discovering:
            return
        self._discovering = True
        try:
            for ep in group_entry_points(self.group or ""):
                load_entry_point(ep, self.group or "")
        finally:
            self._discovering = False
        self._discovered = True

    def get(self, name: str) -> T:
        self.discover()
        try:
            return self._items[name]
        except KeyError:
            raise VlmqError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, list(self._items), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Known: {', '.join(sorted(self._items))}."

    def names(self) -> list[str]:
        self.discover()
        if self._order is None:
            return list(self._items)
        key = self._order
        return sorted(self._items, key=lambda n: key(self._items[n]))

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        return [(n, self._items[n]) for n in self.names()]

    def values(self) -> list[T]:
        return [self._items[n] for n in self.names()]


def group_entry_points(group: str) -> list[EntryPoint]:
    """The group's entry points, vlmq's own first, then by distribution and name: a fixed
    order, so registries list their objects the same way on every machine."""

    def key(ep: EntryPoint) -> tuple[bool, str, str]:
        dist = ep.dist.name if ep.dist is not None else ""
        return (dist != OWN_DISTRIBUTION, dist, ep.name)

    return sorted(entry_points(group=group), key=key)


def load_entry_point(ep: EntryPoint, group: str) -> None:
    """Import one entry point's module (which registers its objects); a failure becomes one
    line naming the entry point and its distribution."""
    try:
        ep.load()
    except VlmqError as exc:
        raise VlmqError(f"{group} entry point {ep.name!r} ({ep.value}{_from(ep)}): {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any import failure of outside code
        why = " ".join(str(exc).split())[:200]
        raise VlmqError(f"{group} entry point {ep.name!r} ({ep.value}{_from(ep)}) failed to load: "
                        f"{type(exc).__name__}: {why}; fix or uninstall that package") from None


def _from(ep: EntryPoint) -> str:
    return f", from {ep.dist.name} {ep.dist.version}" if ep.dist is not None else ""
