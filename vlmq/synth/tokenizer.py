"""A tokenizer with a family's vocabulary size and special-token ids, from the zoo's BPE.

No real tokenizer can be downloaded here. What decoding speed depends on is the vocabulary
size (the embedding and lm_head shapes) and where the special tokens sit (the config's image
token id, eos, bos), so the synthetic tokenizer keeps exactly those: the special tokens at
their published ids, the embedded llava-tiny byte-level BPE (its vocabulary and merges) in the
free ids, and filler entries `<synth_N>` up to the full size, so every id a random model can
emit decodes to something.
"""

from __future__ import annotations

import json
from typing import Any

from vlmq.errors import VlmqError
from vlmq.models.embedded import ZOO

_ZOO_TOKENIZER = ZOO["llava-tiny"] / "tokenizer.json"


def _zoo_bpe() -> tuple[list[str], list[tuple[str, str]]]:
    """The zoo tokenizer's ordinary tokens (by id, its own specials removed) and merges."""
    data = json.loads(_ZOO_TOKENIZER.read_text())
    specials = {t["content"] for t in data["added_tokens"]}
    vocab = data["model"]["vocab"]
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if t not in specials]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1))
              for m in data["model"]["merges"]]
    return tokens, merges


def family_tokenizer(
    size: int, specials: dict[str, int], *, roles: dict[str, str], bos_prefix: str | None = None,
    extra: dict[str, str] | None = None, chat_template: str | None = None,
) -> Any:
    """A `PreTrainedTokenizerFast` of `size` ids with `specials` at their ids.

    `roles` names the standard tokens (bos_token, eos_token, pad_token, unk_token ...),
    `extra` the family's named extra tokens (image_token ...), `bos_prefix` a token the
    tokenizer puts before every text (Llama's <s>).
    """
    import transformers
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    if any(i >= size for i in specials.values()):
        raise VlmqError(f"synthetic tokenizer: a special token id is >= the vocabulary size {size}")
    base, merges = _zoo_bpe()
    taken = set(specials.values())
    free = (i for i in range(size) if i not in taken)
    vocab = dict(specials)
    for token, i in zip(base, free, strict=False):
        vocab[token] = i
    for i in free:  # what is left of the generator after the BPE tokens
        vocab[f"<synth_{i}>"] = i
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    if bos_prefix is not None:
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos_prefix} $A", pair=f"{bos_prefix} $A $B",
            special_tokens=[(bos_prefix, specials[bos_prefix])],
        )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, padding_side="left", chat_template=chat_template,
        extra_special_tokens=extra or {}, **roles,
    )
