"""The prompt the memory estimate sizes, measured on the run's own first batch before loading.

A family's processor config fixes some prompts (SmolVLM's tiles), but most depend on the
images: Qwen2.5-VL turns an image into tokens at its own resolution, BLIP's captioning prompt
is a single token (its decoder cross-attends the image instead: `cross_attention_tokens`).
The estimate used to assume 640 tokens for those (a LLaVA image), ten times Qwen2.5-VL-3B's
measured 62 on the embedded captions, and sized the KV cache, activations and kernel
temporaries with it. The processor alone is loaded (seconds, no weights), and the first batch
of each task the model runs is prepared as the evaluation will prepare it; the longest prompt
is what the estimate sizes.
"""

from __future__ import annotations

from typing import Any

from vlmq.errors import SampleError, UnavailableError, VlmqError
from vlmq.inputs import prepare_slot


def longest_first_batch_prompt(adapter: Any, source: str, batches: list[tuple[Any, Any]],
                               batch_size: int) -> int | None:
    """Prompt tokens (padded, as the model gets them) of the longest first batch among
    `batches` ((task, its evaluated data) pairs); None where none could be prepared, which
    leaves the estimate to the family's count or its default."""
    try:
        processor = adapter.load_processor(source)
    except (OSError, ValueError, VlmqError):
        return None
    longest = 0
    for task, data in batches:
        indices = list(range(min(batch_size, len(data.dataset))))
        try:
            prepared = prepare_slot(task, data, adapter, processor, indices)
        except (SampleError, UnavailableError, VlmqError, ValueError, KeyError, OSError):
            continue  # the evaluation meets the same sample and reports it
        if prepared.inputs is not None:
            longest = max(longest, adapter.prompt_length(prepared.inputs))
    return longest or None
