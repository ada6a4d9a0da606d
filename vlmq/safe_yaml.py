"""YAML read with its alias expansion bounded, and values shown in messages at bounded length.

A YAML alias (`*a`) repeats a node without copying it, so ten lines of nested aliases (a
"billion laughs") load in microseconds as a small graph of shared lists; what blows up is any
later walk over it as a tree: a repr in an error message, a deep copy, a dump. Here the node
graph is measured as the tree it stands for before anything is built from it (memoized, so the
count costs one pass over the graph), and a document over MAX_NODES is refused in one line.
"""

from __future__ import annotations

import reprlib
from typing import Any

import yaml

from vlmq.errors import VlmqError

# far above any real config (the full default RunConfig is ~100 nodes) and far below a bomb
MAX_NODES = 100_000

_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict = 2, 4, 4
_SHOWN.maxstring = _SHOWN.maxother = 60


def shown(value: Any) -> str:
    """repr(value) cut to a bounded size, whatever the value's nesting or length."""
    return _SHOWN.repr(value)


def load_yaml(text: str, source: str) -> Any:
    """yaml.safe_load of `text`, refusing documents that expand to more than MAX_NODES nodes;
    `source` names the file in the one-line VlmqError."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise VlmqError(f"{source} is nested too deeply to be a config") from None
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_NODES:
            raise VlmqError(f"{source}: its aliases expand to more than {MAX_NODES:,} values "
                            "(a YAML alias bomb?); write the values out") from None
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes in the tree `node` stands for (aliases counted as often as they are used); stops
    counting once past MAX_NODES."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = MAX_NODES + 1  # a node reached again while being counted: a cycle
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    else:
        children = []
    total = 1
    for child in children:
        total += _expanded_size(child, memo)
        if total > MAX_NODES:
            break
    memo[key] = total
    return total
