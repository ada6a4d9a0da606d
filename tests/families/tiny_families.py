"""Tiny models of each family's real architecture, built offline and saved with a processor.

Each builder uses the family's own config and model classes with small sizes (hidden sizes
multiples of 64, so 4-bit CPU kernels accept every quantized Linear) and random weights; the
saved folder then goes through `load_variant` exactly like a downloaded checkpoint would.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

TEXT = ("a the cat dog red blue green photo of on with two small large man woman street car "
        "bird flower sign text reads stop yes no what is in picture image caption sky tree "
        "house table white black sitting standing near three one four five open book")

# A minimal chat template in the style of the real ones: one user turn with image parts.
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}:"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}{{ image_token }}"
    "{% else %} {{ c['text'] }}{% endif %}{% endfor %} {% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def chat_template(image_token: str) -> str:
    return CHAT_TEMPLATE.replace("{{ image_token }}", image_token)


def make_tokenizer(specials: list[str], **named: str) -> Any:
    """A byte-level BPE tokenizer trained on a few hundred words, with `specials` added."""
    import random

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    rng = random.Random(0)
    words = TEXT.split()
    corpus = [" ".join(rng.choice(words) for _ in range(12)) for _ in range(400)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, **named)


def solid_images(n: int, size: int = 40) -> list[Any]:
    from PIL import Image

    colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)]
    return [Image.new("RGB", (size + 7 * i, size), colors[i % len(colors)]) for i in range(n)]


def _seeded() -> None:
    import torch

    torch.manual_seed(0)


def _save(model: Any, processor: Any, path: Path) -> Path:
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def build_llava(path: Path) -> Path:
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tok = make_tokenizer(["<unk>", "<s>", "</s>", "<pad>", "<image>"], unk_token="<unk>",
                         bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
    )
    processor = LlavaProcessor(
        image_processor=image_processor, tokenizer=tok, patch_size=16,
        vision_feature_select_strategy="default", num_additional_image_tokens=1,
        chat_template=chat_template("<image>"),
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=2,
            image_size=32, patch_size=16, projection_dim=64,
        ),
        text_config=LlamaConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=2,
            num_key_value_heads=1, vocab_size=len(tok), max_position_embeddings=256,
            bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        ),
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2, vision_feature_select_strategy="default",
    )
    _seeded()
    model = LlavaForConditionalGeneration(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return _save(model, processor, path)


def _llama(tok: Any, **over: Any) -> dict[str, Any]:
    """A small Llama-style text config (SmolVLM's and LLaVA's text models are Llamas)."""
    cfg = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=2,
               num_key_value_heads=1, vocab_size=len(tok), max_position_embeddings=256,
               bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
               pad_token_id=tok.pad_token_id)
    return {**cfg, **over}


def _idefics3_parts(processor_cls: Any, image_processor_cls: Any) -> tuple[Any, Any]:
    tok = make_tokenizer(
        ["<unk>", "<s>", "<end_of_utterance>", "<pad>", "<image>", "<fake_token_around_image>",
         "<global-img>"],
        unk_token="<unk>", bos_token="<s>", eos_token="<end_of_utterance>", pad_token="<pad>",
    )
    image_processor = image_processor_cls(
        do_image_splitting=False, size={"longest_edge": 32}, max_image_size={"longest_edge": 32},
    )
    processor = processor_cls(
        image_processor=image_processor, tokenizer=tok, image_seq_len=1,
        chat_template=chat_template("<image>"),
    )
    return tok, processor


def build_idefics3(path: Path) -> Path:
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessorPil,
        Idefics3Processor,
        Idefics3VisionConfig,
        LlamaConfig,
    )

    tok, processor = _idefics3_parts(Idefics3Processor, Idefics3ImageProcessorPil)
    # 32 px / 16 px patches = 4 patches; scale_factor 2 shuffles them into 1 image token.
    config = Idefics3Config(
        vision_config=Idefics3VisionConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=2,
            image_size=32, patch_size=16,
        ),
        text_config=LlamaConfig(**_llama(tok)),
        scale_factor=2, image_token_id=tok.convert_tokens_to_ids("<image>"),
        pad_token_id=tok.pad_token_id,
    )
    _seeded()
    return _save(Idefics3ForConditionalGeneration(config), processor, path)


def build_smolvlm(path: Path) -> Path:
    from transformers import (
        LlamaConfig,
        SmolVLMConfig,
        SmolVLMForConditionalGeneration,
        SmolVLMImageProcessorPil,
        SmolVLMProcessor,
        SmolVLMVisionConfig,
    )

    from vlmq.models.processors import images_only

    tok, processor = _idefics3_parts(images_only(SmolVLMProcessor), SmolVLMImageProcessorPil)
    config = SmolVLMConfig(
        vision_config=SmolVLMVisionConfig(
            hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=2,
            image_size=32, patch_size=16,
        ),
        text_config=LlamaConfig(**_llama(tok)),
        scale_factor=2, image_token_id=tok.convert_tokens_to_ids("<image>"),
        pad_token_id=tok.pad_token_id,
    )
    _seeded()
    return _save(SmolVLMForConditionalGeneration(config), processor, path)


def build_qwen2_5_vl(path: Path) -> Path:
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessorPil,
    )

    from vlmq.models.processors import images_only

    tok = make_tokenizer(
        ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
         "<|image_pad|>", "<|video_pad|>"],
        eos_token="<|im_end|>", pad_token="<|endoftext|>",
    )
    # 16 px patches merged 2x2: a 32x32..64x64 image gives 1-4 image tokens.
    image_processor = Qwen2VLImageProcessorPil(
        min_pixels=32 * 32, max_pixels=64 * 64, patch_size=16, merge_size=2,
        temporal_patch_size=2,
    )
    processor = images_only(Qwen2_5_VLProcessor)(
        image_processor=image_processor, tokenizer=tok,
        chat_template=chat_template("<|vision_start|><|image_pad|><|vision_end|>"),
    )
    ids = tok.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        vision_config=dict(
            depth=3, hidden_size=64, intermediate_size=128, num_heads=2, patch_size=16,
            spatial_merge_size=2, temporal_patch_size=2, window_size=64,
            fullatt_block_indexes=[2], out_hidden_size=64,
        ),
        text_config=dict(
            hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=2,
            num_key_value_heads=1, vocab_size=len(tok), max_position_embeddings=256,
            # head_dim 32 -> 16 rotary frequencies split over (time, height, width)
            rope_parameters={"rope_type": "default", "mrope_section": [4, 6, 6],
                             "rope_theta": 10000.0},
            bos_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
        ),
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=True,
    )
    _seeded()
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    return _save(model, processor, path)


def build_blip(path: Path) -> Path:
    from transformers import (
        BertTokenizerFast,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessorPil,
        BlipProcessor,
    )

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", *sorted(set(TEXT.split()))]
    vocab_file = path.parent / "blip-vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n")
    tok = BertTokenizerFast(vocab_file=str(vocab_file), bos_token="[DEC]")
    processor = BlipProcessor(
        image_processor=BlipImageProcessorPil(size={"height": 32, "width": 32}), tokenizer=tok,
    )
    config = BlipConfig(
        vision_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                           num_attention_heads=2, image_size=32, patch_size=16),
        text_config=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=3,
                         num_attention_heads=2, vocab_size=len(tok), encoder_hidden_size=64,
                         bos_token_id=tok.bos_token_id, sep_token_id=tok.sep_token_id,
                         pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id),
    )
    _seeded()
    return _save(BlipForConditionalGeneration(config), processor, path)


def build_vit(path: Path) -> Path:
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessorPil

    config = ViTConfig(
        hidden_size=64, intermediate_size=128, num_hidden_layers=3, num_attention_heads=2,
        image_size=32, patch_size=16, num_labels=10,
        id2label={i: f"class{i}" for i in range(10)},
        label2id={f"class{i}": i for i in range(10)},
    )
    _seeded()
    model = ViTForImageClassification(config)
    return _save(model, ViTImageProcessorPil(size={"height": 32, "width": 32}), path)


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "llava": build_llava,
    "idefics3": build_idefics3,
    "smolvlm": build_smolvlm,
    "qwen2_5_vl": build_qwen2_5_vl,
    "blip": build_blip,
    "vit": build_vit,
}


def assert_touched(loaded: Any, targeted: tuple[str, ...]) -> None:
    """Every Linear of the targeted parts is quantized and none elsewhere; every part exists."""
    for part, counts in loaded.quantized_linears.items():
        assert counts["linear"] > 0, f"part {part} resolved to a module with no Linear layer"
        want = counts["linear"] if part in targeted else 0
        assert counts["quantized"] == want, (loaded.variant_id, part, counts)


def check_generation(loaded: Any, max_new_tokens: int = 4) -> Any:
    """A batch of three images with prompts of different lengths generates one answer each."""
    prompts = ["what is it", "caption", "what is in the picture on the table near the tree"]
    out = loaded.generate(solid_images(3), prompts, max_new_tokens)
    assert len(out.texts) == 3 and all(isinstance(t, str) for t in out.texts)
    assert all(1 <= n <= max_new_tokens for n in out.new_tokens), out.new_tokens
    assert 0 < out.prefill_s <= out.total_s
    return out


def check_classification(loaded: Any) -> Any:
    out = loaded.classify(solid_images(3))
    assert len(out.top5) == 3
    assert all(len(row) == 5 and len(set(row)) == 5 for row in out.top5)
    assert all(0 <= i < 10 for row in out.top5 for i in row)
    assert out.total_s > 0
    return out
