"""The layer-keeping modifier `BASE+keep=PART:IDX,...`: parsing and resolving layer indices."""

from __future__ import annotations

import pytest

from vlmq.errors import VlmqError
from vlmq.variants.keep import KeepSpec, split_variant_id

LAYERS = [f"model.language_model.layers.{i}" for i in range(4)]


def test_plain_variant_has_no_modifier():
    assert split_variant_id("nf4") == ("nf4", None)


@pytest.mark.parametrize(("text", "indices"), [
    ("int8+keep=text:0", (0,)),
    ("int8+keep=text:first,last", (0, -1)),
    ("int8+keep=text: 1 , -2", (1, -2)),
])
def test_indices_and_aliases(text, indices):
    base, spec = split_variant_id(text)
    assert base == "int8"
    assert spec == KeepSpec("text", indices)


@pytest.mark.parametrize("text", [
    "int8+text:0", "int8+keep=text", "int8+keep=:0", "int8+keep=text:", "int8+drop=text:0",
])
def test_malformed_modifier_says_the_form(text):
    with pytest.raises(VlmqError, match=r"BASE\+keep=PART:IDX"):
        split_variant_id(text)


def test_non_integer_index_is_named():
    with pytest.raises(VlmqError, match="'middle' is not an integer"):
        split_variant_id("nf4+keep=vision:middle")


def test_resolve_counts_from_either_end_and_dedupes():
    assert KeepSpec("text", (0, -1)).resolve(LAYERS) == (LAYERS[0], LAYERS[3])
    assert KeepSpec("text", (3, -1, 3)).resolve(LAYERS) == (LAYERS[3],)


@pytest.mark.parametrize("index", [4, -5])
def test_out_of_range_index_gives_the_valid_range(index):
    with pytest.raises(VlmqError, match=r"has 4 layers \(valid indices -4\.\.3\)"):
        KeepSpec("text", (index,)).resolve(LAYERS)
