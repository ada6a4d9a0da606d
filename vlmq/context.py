"""Prompts longer than the model's context, caught per sample before their batch runs.

A prompt (image tokens included) plus the new tokens must fit the language model's positions
(`ModelAdapter.context_positions`: `max_position_embeddings`, or a family's own limit). Nothing
in generate() refuses a longer one: a 10,022-token prompt for a 256-position model ran for
152 s, took 10.6 GB and scored 0 like any other sample. So each prepared batch is checked
here (the processor's output gives every sample's length, untimed) and an over-long sample
either fails with the reason (`long_prompts: fail`, the default) or has its question cut to
fit and its record marked with the tokens cut (`long_prompts: truncate`). The rest of the
batch is prepared again without it, so its padding does not inflate the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmq.results.schema import SampleRecord

LONG_PROMPTS = ("fail", "truncate")
# marks a failed record as over the context, so a run can count them
OVER_CONTEXT = "prompt over the model's context"


@dataclass(frozen=True)
class ContextBudget:
    positions: int  # what the language model can attend over
    new_tokens: int  # what generation adds
    truncate: bool = False

    @property
    def prompt_limit(self) -> int:
        return self.positions - self.new_tokens

    def reason(self, length: int) -> str:
        return (f"{OVER_CONTEXT}: {length} prompt tokens (image tokens included) + "
                f"{self.new_tokens} new tokens > {self.positions} positions")


def context_budget(adapter: Any, model: Any, new_tokens: int, long_prompts: str = "fail"
                   ) -> ContextBudget | None:
    """The budget of a loaded model; None when it has no text context to overflow."""
    positions = adapter.context_positions(model)
    if positions is None:
        return None
    return ContextBudget(positions, new_tokens, truncate=long_prompts == "truncate")


def over_context(records: list[SampleRecord]) -> list[str]:
    """Ids of the samples that failed for being over the context."""
    return [r.sample_id for r in records if r.error and r.error.startswith(OVER_CONTEXT)]


def enforce(budget: ContextBudget, prepared: Any, images: list[Any], adapter: Any,
            processor: Any, failed_record: Any) -> None:
    """Drop (or cut) every sample of `prepared` (a vlmq.inputs.Prepared) whose prompt is over
    the budget, in place; `failed_record(k, reason)` builds the record of sample k."""
    lengths = adapter.prompt_lengths(prepared.inputs)
    over = [k for k, n in enumerate(lengths) if n > budget.prompt_limit]
    if not over:
        return
    keep = [k for k in range(len(prepared.indices)) if k not in over]
    for k in over:
        cut = _truncated(budget, adapter, processor, images[k], prepared.prompts[k],
                         lengths[k]) if budget.truncate else None
        if cut is None:
            prepared.failed.append(failed_record(k, budget.reason(lengths[k])))
            continue
        prepared.prompts[k] = cut[0]
        prepared.truncated[prepared.indices[k]] = cut[1]
        keep.append(k)
    keep.sort()
    prepared.indices = [prepared.indices[k] for k in keep]
    prepared.rows = [prepared.rows[k] for k in keep]
    prepared.prompts = [prepared.prompts[k] for k in keep]
    kept_images = [images[k] for k in keep]
    prepared.inputs = adapter.prepare(processor, kept_images, prepared.prompts) if keep else None


def _truncated(budget: ContextBudget, adapter: Any, processor: Any, image: Any, prompt: str,
               length: int) -> tuple[str, int] | None:
    """The prompt with its end cut by the tokens it is over (and the count cut), checked by
    preparing it again; None when cutting the question cannot make it fit (the image alone is
    over)."""
    tokenizer = getattr(processor, "tokenizer", processor)
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    excess = length - budget.prompt_limit
    if excess >= len(ids):
        return None
    cut = tokenizer.decode(ids[:len(ids) - excess], skip_special_tokens=True)
    again = adapter.prompt_lengths(adapter.prepare(processor, [image], [cut]))
    return (cut, excess) if again and again[0] <= budget.prompt_limit else None
