"""The layer-keeping modifier: `VARIANT+keep=PART:IDX,IDX` keeps chosen layers of one part in
full precision (layer-wise sensitivity, seed 003).

Indices count from 0; negative ones count from the end ("first" = 0, "last" = -1 are accepted).
Examples: `int8+keep=text:0`, `nf4-text+keep=text:first,last`, `int8-vision+keep=vision:-1`.
"""

from __future__ import annotations

from dataclasses import dataclass

from vlmq.errors import VlmqError

_ALIASES = {"first": 0, "last": -1}


@dataclass(frozen=True)
class KeepSpec:
    part: str
    indices: tuple[int, ...]

    def resolve(self, layer_paths: list[str]) -> tuple[str, ...]:
        """Module paths of the kept layers, given the part's layer stack."""
        n = len(layer_paths)
        out = []
        for i in self.indices:
            if not -n <= i < n:
                raise VlmqError(f"keep={self.part}:{i}: the {self.part} part has {n} layers "
                                f"(valid indices {-n}..{n - 1})")
            out.append(layer_paths[i])
        return tuple(dict.fromkeys(out))


def split_variant_id(variant_id: str) -> tuple[str, KeepSpec | None]:
    """'nf4+keep=text:0,-1' -> ('nf4', KeepSpec('text', (0, -1)))."""
    base, sep, modifier = variant_id.partition("+")
    if not sep:
        return base, None
    key, eq, value = modifier.partition("=")
    part, colon, idx_text = value.partition(":")
    if key != "keep" or not eq or not colon or not part or not idx_text:
        raise VlmqError(f"variant {variant_id!r}: expected BASE+keep=PART:IDX[,IDX...] "
                        f"(e.g. int8+keep=text:0,-1)")
    indices = []
    for tok in idx_text.split(","):
        tok = tok.strip()
        try:
            indices.append(_ALIASES[tok] if tok in _ALIASES else int(tok))
        except ValueError:
            raise VlmqError(f"variant {variant_id!r}: layer index {tok!r} is not an integer, "
                            f"'first' or 'last'") from None
    return base, KeepSpec(part, tuple(indices))
