"""What the image+text -> text families share: chat-templated batched inputs, greedy
generation and its timing. A family file only says where its parts live and what differs.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vlmq.errors import VlmqError
from vlmq.models.base import GenerationOutput, ModelAdapter, ModelCall
from vlmq.models.modes import generate_kwargs


def rgb(image: Any) -> Any:
    """Images reach the processor as RGB PIL images (grey or RGBA sources would change the
    channel count the vision tower expects)."""
    return image.convert("RGB") if getattr(image, "mode", "RGB") != "RGB" else image


def count_new_tokens(new_ids: Any, eos_ids: set[int]) -> list[int]:
    """Tokens each sample generated: up to and including its first end-of-sequence token
    (what follows it is padding of the batch)."""
    out = []
    for row in new_ids.tolist():
        n = len(row)
        for i, tok in enumerate(row):
            if tok in eos_ids:
                n = i + 1
                break
        out.append(n)
    return out


class GenerativeAdapter(ModelAdapter):
    """Adapter for a transformers image-text-to-text model driven by a chat template."""

    kind = "generate"
    model_class: ClassVar[str]  # the transformers class name, e.g. "LlavaForConditionalGeneration"

    def auto_class(self) -> Any:
        import transformers

        return getattr(transformers, self.model_class)

    def load_processor(self, source: str) -> Any:
        from transformers import AutoProcessor

        return self.left_padded(AutoProcessor.from_pretrained(source))

    @staticmethod
    def left_padded(processor: Any) -> Any:
        # Decoder-only generation appends to the right end of every row: pad on the left.
        processor.tokenizer.padding_side = "left"
        return processor

    def chat_text(self, processor: Any, prompt: str) -> str:
        """One user turn holding one image and the prompt, ready for the assistant's answer."""
        if not getattr(processor, "chat_template", None):
            raise VlmqError(f"{self.family}: the processor has no chat template; save one with "
                            f"the processor (processor.chat_template = ...)")
        messages = [{"role": "user",
                     "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
        return processor.apply_chat_template(messages, add_generation_prompt=True)

    def calibration_inputs(self, processor: Any, image: Any, prompt: str, answer: str) -> Any:
        """One calibration sample as the model reads it in training: the chat turn with its
        image, then the answer (no padding)."""
        return processor(images=self.image_batch([image]),
                         text=[self.chat_text(processor, prompt) + answer], return_tensors="pt")

    def image_batch(self, images: list[Any]) -> Any:
        """The images argument of the processor; one image per sample."""
        return [rgb(im) for im in images]

    def build_inputs(self, processor: Any, images: list[Any], prompts: list[str]) -> Any:
        if len(images) != len(prompts):
            raise VlmqError(f"{self.family}: {len(images)} images but {len(prompts)} prompts; "
                            f"pass one prompt per image")
        texts = [self.chat_text(processor, p) for p in prompts]
        return processor(images=self.image_batch(images), text=texts, return_tensors="pt",
                         padding=True)

    def prompt_length(self, inputs: Any) -> int:
        """Tokens at the start of every generated row that are input, not generated."""
        return inputs["input_ids"].shape[1]

    def context_positions(self, model: Any) -> int | None:
        """The text model's `max_position_embeddings` (a family with another limit overrides
        this)."""
        config = model.config
        text = getattr(config, "text_config", None) or config
        positions = getattr(text, "max_position_embeddings", None)
        return int(positions) if positions else None

    def prompt_lengths(self, inputs: Any) -> list[int]:
        if "attention_mask" in inputs:  # left padding: the mask counts each row's own tokens
            return [int(n) for n in inputs["attention_mask"].sum(dim=1).tolist()]
        rows = inputs["input_ids"] if "input_ids" in inputs else inputs["pixel_values"]
        return [self.prompt_length(inputs)] * int(rows.shape[0])

    def input_tokens(self, inputs: Any) -> int:
        # image-only inputs (BLIP captions) have no input_ids: one row per image
        rows = inputs["input_ids"] if "input_ids" in inputs else inputs["pixel_values"]
        return self.prompt_length(inputs) * int(rows.shape[0])

    def eos_ids(self, model: Any) -> set[int]:
        eos = getattr(model.generation_config, "eos_token_id", None)
        if eos is None:
            return set()
        return {int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos])}

    def prepare(self, processor: Any, images: list[Any], prompts: list[str]) -> Any:
        return self.build_inputs(processor, images, prompts)

    def call(self, model: Any, inputs: Any, max_new_tokens: int, on_step: Any,
             options: dict[str, Any] | None = None) -> Any:
        """Greedy generate; `options` go to `model.generate` (the generation mode's cache and
        compile settings), and `fixed_new_tokens` in them forces exactly `max_new_tokens`."""
        from transformers import LogitsProcessorList

        extra = generate_kwargs(options or {}, max_new_tokens)
        return model.generate(
            **inputs, max_new_tokens=max_new_tokens, do_sample=False, num_beams=1,
            logits_processor=LogitsProcessorList([on_step]), **extra,
        )

    def finish(self, model: Any, processor: Any, inputs: Any, call: ModelCall
               ) -> GenerationOutput:
        new = call.output[:, self.prompt_length(inputs):]
        texts = processor.batch_decode(new, skip_special_tokens=True)
        times = call.token_times_s
        return GenerationOutput(
            texts=[t.strip() for t in texts],
            new_tokens=count_new_tokens(new, self.eos_ids(model)),
            prefill_s=times[0] if times else call.seconds,
            total_s=call.seconds,
            token_times_s=list(times),
        )

    def generate(
        self, model: Any, processor: Any, images: list[Any], prompts: list[str],
        max_new_tokens: int, options: dict[str, Any] | None = None,
    ) -> GenerationOutput:
        """Greedy generation of one batch; `options` as for `call`."""
        return self.run_batch(model, processor, images, prompts, max_new_tokens, options)
