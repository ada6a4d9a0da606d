"""A model family adapter: where a family's parts live and how it loads, prompts and runs.

One file per family under `vlmq/models/`, each registering its adapter in ADAPTERS under
the `model_type` values of its transformers config; the module is found through its
`vlmq.models` entry point (see vlmq.registry).
"""

from __future__ import annotations

import os
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from vlmq.errors import VlmqError
from vlmq.measure.latency import Timer, synchronize
from vlmq.registry import Registry

# The parts a variant can target. "head" (lm_head / classifier) stays in full precision
# in every shipped variant: it is tiny, and quantizing it costs the most quality.
PARTS: tuple[str, ...] = ("vision", "projector", "text", "head")


@dataclass
class GenerationOutput:
    texts: list[str]  # decoded new tokens only, special tokens removed
    new_tokens: list[int]  # generated token count per sample
    prefill_s: float  # time from the call to the first token (the whole batch's prefill)
    total_s: float  # wall time of the model call alone, synchronized
    # seconds from the call's start to each decoding step's logits (the first one is prefill_s)
    token_times_s: list[float] = field(default_factory=list)


@dataclass
class ClassificationOutput:
    top5: list[list[int]]  # class indices, best first, per sample
    total_s: float  # wall time of the model call alone, synchronized


@dataclass
class ModelCall:
    """What one timed model call left: its raw output (still on the device) and its timing."""

    output: Any
    seconds: float  # synchronized wall time of the model's own work
    token_times_s: list[float] = field(default_factory=list)  # generative: per decoding step
    # process CPU time over the same region (all threads): with `seconds` it tells a call that
    # waited for cores another process held (vlmq.measure.interference)
    cpu_s: float | None = None
    # how long the calling thread waited for a core over the same region (vlmq.measure.runqueue)
    wait_s: float | None = None


class ModelAdapter(ABC):
    """Family-specific knowledge. Subclasses set the class attributes and implement the
    abstract methods; everything generic (variants, timing, scoring) lives elsewhere."""

    family: ClassVar[str]  # short name, e.g. "llava"
    model_types: ClassVar[tuple[str, ...]]  # transformers config.model_type values served
    kind: ClassVar[str]  # "generate" or "classify"
    # Candidate module paths per part, tried in order against the loaded model; the first
    # that exists wins. Listing old and new names covers transformers' 4.52 renames.
    part_candidates: ClassVar[dict[str, tuple[str, ...]]]
    hub_examples: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def auto_class(self) -> Any:
        """The transformers model class to call from_pretrained / from_config on."""

    @abstractmethod
    def load_processor(self, source: str) -> Any:
        """The processor (or image processor) for a hub id or local folder."""

    def image_tiles(self, source: str) -> int:
        """Tiles the processor cuts each image into before the vision encoder (the memory
        estimate's activations); one unless the family splits images."""
        return 1

    def cross_attention_tokens(self, config: Any) -> int:
        """Tokens per image the text part cross-attends to (the memory estimate: its key and
        value projections take them, and its cache holds them); 0 where the image tokens are
        in the prompt."""
        return 0

    def prompt_tokens(self, source: str) -> int | None:
        """Prompt tokens of one image and a short question, where the family's processor
        makes them from its config (the memory estimate's KV cache and text activations);
        None: the estimate's default."""
        return None

    def resolve_parts(self, model: Any) -> dict[str, list[str]]:
        """Map each part to the module paths it has in this model, checked against it.

        Raises when a part has no matching module, so a renamed module fails loudly
        instead of letting a variant quantize everything.
        """
        names = dict(model.named_modules())
        out: dict[str, list[str]] = {}
        for part, candidates in self.part_candidates.items():
            found = [c for c in candidates if c in names]
            if not found:
                raise VlmqError(
                    f"{self.family}: no module for part {part!r} (looked for "
                    f"{', '.join(candidates)}); this transformers version names it differently"
                )
            out[part] = found[:1]
        return out

    def layer_paths(self, model: Any, part: str) -> list[str]:
        """Module paths of the repeated blocks of one part, in order (for sensitivity)."""
        prefix = self.resolve_parts(model)[part][0]
        names = [n for n, _ in model.named_modules()]
        for n in names:
            if not n.startswith(prefix + "."):
                continue
            rest = n[len(prefix) + 1:]
            head, _, idx = rest.rpartition(".")
            if idx == "0" and head and head.split(".")[-1] in ("layers", "layer", "blocks"):
                stack = f"{prefix}.{head}"
                i, out = 0, []
                while f"{stack}.{i}" in names:
                    out.append(f"{stack}.{i}")
                    i += 1
                return out
        raise VlmqError(f"{self.family}: part {part!r} has no stack of layers under {prefix}")

    # -- one batch, in the three steps the evaluation loop keeps apart --------------------------
    # prepare (processor call, CPU; runs in the input pipeline) -> to_device -> timed_call (the
    # model's own work, synchronized: the only timed region) -> finish (decode, top-k lists).

    @abstractmethod
    def prepare(self, processor: Any, images: list[Any], prompts: list[str]) -> Any:
        """The model's input tensors for one batch, on the CPU."""

    def to_device(self, model: Any, inputs: Any) -> Any:
        # BatchFeature.to casts only floating tensors to the dtype (token ids stay integers)
        return inputs.to(model.device, dtype=model.dtype)

    @abstractmethod
    def call(self, model: Any, inputs: Any, max_new_tokens: int, on_step: Any,
             options: dict[str, Any] | None = None) -> Any:
        """The model's forward or generate on prepared inputs; `on_step` is a logits processor
        that timestamps each decoding step (generative families pass it to generate), and
        `options` the generation mode's settings (vlmq.models.modes; generative families only).
        """

    @abstractmethod
    def finish(self, model: Any, processor: Any, inputs: Any, call: ModelCall
               ) -> GenerationOutput | ClassificationOutput:
        """Turn the raw output into texts or class indices (untimed)."""

    def context_positions(self, model: Any) -> int | None:
        """Positions the language model can attend over (prompt, image tokens and new tokens
        together); None for models without a text context (classifiers)."""
        return None

    def prompt_lengths(self, inputs: Any) -> list[int]:
        """Each sample's prompt length in tokens (image tokens included, padding not) for a
        prepared batch; empty for models without a text context."""
        return []

    def input_tokens(self, inputs: Any) -> int:
        """Tokens a prepared batch feeds the language model, padding included (the prefill's
        work); 0 for models without one."""
        return 0

    def timed_call(self, model: Any, inputs: Any, max_new_tokens: int,
                   options: dict[str, Any] | None = None) -> ModelCall:
        """`call`, timed with CUDA synchronize + perf_counter (monotonic) around it: earlier
        queued GPU work does not count, and the model's queued work does."""
        import torch

        steps = StepTimer(model.device)
        with torch.inference_mode(), warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always")
            with Timer(model.device) as timer:
                output = self.call(model, inputs, max_new_tokens, steps, options)
        warn_once(raised)
        return ModelCall(output, timer.seconds, [t - timer.start for t in steps.times],
                         timer.cpu_seconds, timer.wait_seconds)

    def run_batch(self, model: Any, processor: Any, images: list[Any], prompts: list[str],
                  max_new_tokens: int, options: dict[str, Any] | None = None
                  ) -> GenerationOutput | ClassificationOutput:
        inputs = self.to_device(model, self.prepare(processor, images, prompts))
        return self.finish(model, processor, inputs,
                           self.timed_call(model, inputs, max_new_tokens, options))

    def generate(
        self, model: Any, processor: Any, images: list[Any], prompts: list[str],
        max_new_tokens: int, options: dict[str, Any] | None = None,
    ) -> GenerationOutput:
        raise VlmqError(f"{self.family} models do not generate text")

    def classify(self, model: Any, processor: Any, images: list[Any]) -> ClassificationOutput:
        raise VlmqError(f"{self.family} models do not classify images")

    def label_names(self, model: Any) -> list[str] | None:
        """Class names of a classifier, from its config."""
        id2label = getattr(model.config, "id2label", None)
        return [id2label[i] for i in sorted(id2label)] if id2label else None


# (category, message) of every warning a model call raised in this process
_WARNED: set[tuple[type, str]] = set()


def warn_once(raised: list[warnings.WarningMessage]) -> None:
    """Warnings of the libraries under a timed call (torch.jit's deprecations, a cast notice)
    fire on every batch: each is passed on once per process, after the timed region, from where
    the library raised it."""
    for w in raised:
        key = (w.category, str(w.message))
        if key in _WARNED:
            continue
        _WARNED.add(key)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


class StepTimer:
    """A logits processor that timestamps every decoding step (synchronized): its first mark
    is the end of prefill (image encoding + prompt), the gaps between marks are the time per
    output token. It changes no score. generate() already waits for the GPU at every step
    (its stopping check reads a device value), so the sync here adds no stall of its own."""

    def __init__(self, device: Any) -> None:
        self.device = device
        self.times: list[float] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        synchronize(self.device)
        self.times.append(time.perf_counter())
        return scores


# Filled from the `vlmq.models` entry points: each family module adds its adapter under every
# `model_type` it serves.
ADAPTERS: Registry[ModelAdapter] = Registry("model type", group="vlmq.models")


def adapter_for(config: Any) -> ModelAdapter:
    """The adapter of the family a transformers config belongs to (by its `model_type`)."""
    model_type = getattr(config, "model_type", None)
    if model_type not in ADAPTERS:
        raise VlmqError(f"model type {model_type!r} is not supported; supported types: "
                        f"{', '.join(sorted(ADAPTERS.names()))}")
    return ADAPTERS.get(model_type)


def read_config(source: str) -> Any:
    """The transformers config of a local folder or hub id; one line when it cannot be read."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as exc:
        if Path(source).exists():
            raise VlmqError(f"cannot read the config in {source!r}: {exc}") from None
        offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
        why = "the hub is offline here (HF_HUB_OFFLINE)" if offline else "the hub cannot be reached"
        raise VlmqError(
            f"model {source!r}: its weights must be reachable or given as a local path, and {why}; "
            f"download it where the hub is reachable (hf download {source} --local-dir DIR) and "
            f"pass --vlmq-model DIR"
        ) from None
