"""The five seed models' architectures, written from their published config.json files.

No download is possible here, so every number below is copied by hand from the hub config
(and preprocessor / tokenizer config) of the checkpoint named in each spec's `source`; the
comments say which file each block comes from and what the numbers must agree with. Widths,
head counts, vocabulary sizes and image rules are the published ones; only the depth can be
reduced (`depth`), for tests on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vlmq.errors import VlmqError
from vlmq.registry import Registry
from vlmq.synth.tokenizer import family_tokenizer

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# depth(n) -> the number of layers to build for a tower whose published depth is n
Depth = Callable[[int], int]


@dataclass(frozen=True)
class SynthSpec:
    name: str
    source: str  # the hub checkpoint whose config the numbers come from
    dtype: str  # the published checkpoint's dtype (config "torch_dtype")
    config: Callable[[Depth], Any]  # a transformers config at the given depth
    processor: Callable[[Any], Any]  # config -> processor (or image processor)
    note: str = ""


SPECS: Registry[SynthSpec] = Registry("synthetic model")


def _spec(spec: SynthSpec) -> None:
    SPECS.add(spec.name, spec)


# -- LLaVA-1.5-7B ----------------------------------------------------------------------------
# llava-hf/llava-1.5-7b-hf config.json. Vision: CLIP ViT-L/14 at 336 px (openai/clip-vit-large-
# patch14-336): 1024 wide, 16 heads of 64, 24 layers; (336/14)^2 = 576 patches = image_seq_length
# (the CLS feature is dropped: "default" strategy), features from layer -2. Text: Llama-2-7B,
# 4096 wide, 32 heads of 128, 32 layers, 11008 MLP; vocab 32064 = 32000 + <image> (32000) +
# <pad> (32001) rounded up to a multiple of 64.
LLAVA_CHAT = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'user' %} {% else %}</s>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def _llava_config(depth: Depth) -> Any:
    import transformers

    vision = transformers.CLIPVisionConfig(
        hidden_size=1024, intermediate_size=4096, num_hidden_layers=depth(24),
        num_attention_heads=16, image_size=336, patch_size=14, projection_dim=768,
        hidden_act="quick_gelu", layer_norm_eps=1e-5,
    )
    text = transformers.LlamaConfig(
        vocab_size=32064, hidden_size=4096, intermediate_size=11008,
        num_hidden_layers=depth(32), num_attention_heads=32, num_key_value_heads=32,
        max_position_embeddings=4096, rms_norm_eps=1e-5, tie_word_embeddings=False,
        bos_token_id=1, eos_token_id=2, pad_token_id=32001,
    )
    return transformers.LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=32000,
        vision_feature_select_strategy="default", vision_feature_layer=-2,
        image_seq_length=576, projector_hidden_act="gelu", pad_token_id=32001,
    )


def _llava_processor(config: Any) -> Any:
    import transformers

    # preprocessor_config.json: CLIP processor, shortest edge 336, centre crop 336.
    image = transformers.CLIPImageProcessorPil(
        size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336},
        image_mean=CLIP_MEAN, image_std=CLIP_STD, do_convert_rgb=True,
    )
    tok = family_tokenizer(
        32064, {"<unk>": 0, "<s>": 1, "</s>": 2, "<image>": 32000, "<pad>": 32001},
        roles=dict(bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"),
        bos_prefix="<s>", extra={"image_token": "<image>"}, chat_template=LLAVA_CHAT,
    )
    return transformers.LlavaProcessor(
        image_processor=image, tokenizer=tok, patch_size=14,
        vision_feature_select_strategy="default", chat_template=LLAVA_CHAT,
        image_token="<image>", num_additional_image_tokens=1,
    )


_spec(SynthSpec("llava-1.5-7b", "llava-hf/llava-1.5-7b-hf", "float16",
                _llava_config, _llava_processor))


# -- Qwen2.5-VL-3B-Instruct ------------------------------------------------------------------
# Qwen/Qwen2.5-VL-3B-Instruct config.json. Text (Qwen2.5-3B): 2048 wide, 16 heads of 128, 2 KV
# heads (GQA), 36 layers, 11008 MLP, vocab 151936, tied embeddings, rope theta 1e6, mrope
# sections [16, 24, 24] (sum 64 = head_dim / 2). Vision: 32 blocks, 1280 wide, 16 heads of 80,
# 3420 MLP (SwiGLU), patch 14, temporal patch 2, 2x2 merge into 2048 (out_hidden_size = text
# width), window 112, full attention in blocks 7, 15, 23, 31. Special ids from
# tokenizer_config.json: <|endoftext|> 151643, <|im_start|> 151644, <|im_end|> 151645,
# <|vision_start|> 151652, <|vision_end|> 151653, <|image_pad|> 151655, <|video_pad|> 151656.
QWEN_SPECIALS = {
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
    "<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|vision_pad|>": 151654,
    "<|image_pad|>": 151655, "<|video_pad|>": 151656,
}
QWEN_CHAT = (
    "{% if messages[0]['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _qwen_config(depth: Depth) -> Any:
    import transformers

    vision_depth = depth(32)
    return transformers.Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=151936, hidden_size=2048, intermediate_size=11008,
            num_hidden_layers=depth(36), num_attention_heads=16, num_key_value_heads=2,
            max_position_embeddings=128000, rms_norm_eps=1e-6, tie_word_embeddings=True,
            hidden_act="silu", bos_token_id=151643, eos_token_id=151645,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                             "mrope_section": [16, 24, 24]},
        ),
        vision_config=dict(
            depth=vision_depth, hidden_size=1280, intermediate_size=3420, num_heads=16,
            out_hidden_size=2048, patch_size=14, spatial_merge_size=2, temporal_patch_size=2,
            window_size=112, hidden_act="silu", in_channels=3, tokens_per_second=2,
            fullatt_block_indexes=[i for i in (7, 15, 23, 31) if i < vision_depth],
        ),
        image_token_id=151655, video_token_id=151656, vision_start_token_id=151652,
        vision_end_token_id=151653, tie_word_embeddings=True,
    )


def _qwen_processor(config: Any) -> Any:
    import transformers

    from vlmq.models.processors import images_only

    # preprocessor_config.json: min_pixels 3136 (56x56), max_pixels 12845056, patch 14,
    # temporal patch 2, merge 2: an image is resized to multiples of 28 and gives
    # (h/28)*(w/28) image tokens.
    image = transformers.Qwen2VLImageProcessorPil(
        size={"shortest_edge": 3136, "longest_edge": 12845056}, patch_size=14,
        temporal_patch_size=2, merge_size=2, image_mean=CLIP_MEAN, image_std=CLIP_STD,
    )
    tok = family_tokenizer(
        151936, QWEN_SPECIALS,
        roles=dict(eos_token="<|im_end|>", pad_token="<|endoftext|>"),
        extra={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
               "vision_bos_token": "<|vision_start|>", "vision_eos_token": "<|vision_end|>"},
        chat_template=QWEN_CHAT,
    )
    return images_only(transformers.Qwen2_5_VLProcessor)(
        image_processor=image, tokenizer=tok, chat_template=QWEN_CHAT)


_spec(SynthSpec("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", "bfloat16",
                _qwen_config, _qwen_processor))


# -- SmolVLM-Instruct (Idefics3) -------------------------------------------------------------
# HuggingFaceTB/SmolVLM-Instruct config.json. Vision: SigLIP so400m at 384 px, 1152 wide, 16
# heads of 72, 27 layers, 4304 MLP, patch 14 -> 27x27 = 729 patches, pixel shuffle by 3 ->
# 81 tokens per image tile (image_seq_len 81). Text: SmolLM2-1.7B, 2048 wide, 32 heads of 64,
# 24 layers, 8192 MLP, rope theta 273768, vocab 49155 = 49152 + <fake_token_around_image>
# (49152), <image> (49153), <end_of_utterance> (49154). Processor: tiles of 384 px, the image
# resized to a longest edge of 4 x 384 = 1536 and split, plus one global tile.
SMOL_SPECIALS = {
    "<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2,
    "<fake_token_around_image>": 49152, "<image>": 49153, "<end_of_utterance>": 49154,
}
SMOL_CHAT = (
    "<|im_start|>{% for message in messages %}"
    "{{ message['role'] | capitalize }}:"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def _idefics3_config(depth: Depth, vision: dict[str, int], text: dict[str, Any],
                     image_token_id: int, eos: int, scale_factor: int) -> Any:
    import transformers

    return transformers.Idefics3Config(
        vision_config=dict(vision, num_hidden_layers=depth(vision["num_hidden_layers"])),
        text_config=dict(text, model_type="llama", rms_norm_eps=1e-5, tie_word_embeddings=False,
                         num_hidden_layers=depth(text["num_hidden_layers"]), bos_token_id=1,
                         eos_token_id=eos, pad_token_id=2),
        image_token_id=image_token_id, scale_factor=scale_factor, tie_word_embeddings=False,
    )


def _smolvlm_config(depth: Depth) -> Any:
    return _idefics3_config(
        depth,
        vision=dict(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                    num_attention_heads=16, patch_size=14, image_size=384),
        text=dict(vocab_size=49155, hidden_size=2048, intermediate_size=8192,
                  num_hidden_layers=24, num_attention_heads=32, num_key_value_heads=32,
                  max_position_embeddings=16384,
                  rope_parameters={"rope_type": "default", "rope_theta": 273768.0}),
        image_token_id=49153, eos=49154, scale_factor=3,
    )


def _idefics3_processor(config: Any, specials: dict[str, int], tile: int,
                        tokens_per_tile: int) -> Any:
    import transformers

    image = transformers.Idefics3ImageProcessorPil(
        do_image_splitting=True, size={"longest_edge": 4 * tile},
        max_image_size={"longest_edge": tile}, image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    tok = family_tokenizer(
        config.text_config.vocab_size, specials,
        roles=dict(bos_token="<|im_start|>", eos_token="<end_of_utterance>",
                   pad_token="<|im_end|>", unk_token="<|endoftext|>"),
        extra={"image_token": "<image>"}, chat_template=SMOL_CHAT,
    )
    return transformers.Idefics3Processor(image_processor=image, tokenizer=tok,
                                          image_seq_len=tokens_per_tile, chat_template=SMOL_CHAT)


def _smolvlm_processor(config: Any) -> Any:
    return _idefics3_processor(config, SMOL_SPECIALS, tile=384, tokens_per_tile=81)


_spec(SynthSpec("smolvlm-instruct", "HuggingFaceTB/SmolVLM-Instruct", "bfloat16",
                _smolvlm_config, _smolvlm_processor))


# -- SmolVLM-256M-Instruct (Idefics3) --------------------------------------------------------
# HuggingFaceTB/SmolVLM-256M-Instruct config.json (as recorded in the team's notes,
# /work/shared/notes/datasets-and-models.md): vision SigLIP-B/16 at 512 px, 768 wide, 12
# heads, 12 layers, 3072 MLP -> 32x32 = 1024 patches, pixel shuffle by 4 -> 64 tokens per tile.
# Text: SmolLM2-135M, 576 wide, 9 heads of 64 (3 KV heads), 30 layers, 1536 MLP, vocab 49280.
# The special-token ids beyond the vocabulary size are placed as in SmolVLM-Instruct's layout
# (after the 49152 ordinary ids): sizes, not ids, are what speed and memory depend on.
SMOL_256M_SPECIALS = {
    "<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2,
    "<fake_token_around_image>": 49189, "<image>": 49190, "<end_of_utterance>": 49279,
}


def _smolvlm_256m_config(depth: Depth) -> Any:
    return _idefics3_config(
        depth,
        vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                    num_attention_heads=12, patch_size=16, image_size=512),
        text=dict(vocab_size=49280, hidden_size=576, intermediate_size=1536,
                  num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                  head_dim=64, max_position_embeddings=8192,
                  rope_parameters={"rope_type": "default", "rope_theta": 100000.0}),
        image_token_id=49190, eos=49279, scale_factor=4,
    )


def _smolvlm_256m_processor(config: Any) -> Any:
    return _idefics3_processor(config, SMOL_256M_SPECIALS, tile=512, tokens_per_tile=64)


_spec(SynthSpec("smolvlm-256m", "HuggingFaceTB/SmolVLM-256M-Instruct", "bfloat16",
                _smolvlm_256m_config, _smolvlm_256m_processor,
                note="special-token ids placed as in SmolVLM-Instruct's layout"))


# -- BLIP image-captioning-base --------------------------------------------------------------
# Salesforce/blip-image-captioning-base config.json. Vision: ViT-B/16 at 384 px, 768 wide, 12
# heads, 12 layers, 3072 MLP -> 576 patches + CLS. Text: a BERT-base decoder, 768 wide, 12
# layers, cross-attention to the 768-wide vision features, vocab 30524 = BERT's 30522 +
# [DEC] (30522, the decoder's BOS) + [ENC] (30523); [PAD] 0, [CLS] 101, [SEP] 102 (its EOS).
BLIP_SPECIALS = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103,
                 "[DEC]": 30522, "[ENC]": 30523}


def _blip_config(depth: Depth) -> Any:
    import transformers

    return transformers.BlipConfig(
        vision_config=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=depth(12),
                           num_attention_heads=12, image_size=384, patch_size=16),
        text_config=dict(vocab_size=30524, hidden_size=768, intermediate_size=3072,
                         num_hidden_layers=depth(12), num_attention_heads=12,
                         encoder_hidden_size=768, max_position_embeddings=512,
                         bos_token_id=30522, sep_token_id=102, pad_token_id=0,
                         eos_token_id=2),
    )


def _blip_processor(config: Any) -> Any:
    import transformers

    image = transformers.BlipImageProcessorPil(
        size={"height": 384, "width": 384}, image_mean=CLIP_MEAN, image_std=CLIP_STD,
        do_convert_rgb=True,
    )
    tok = family_tokenizer(
        30524, BLIP_SPECIALS,
        roles=dict(bos_token="[DEC]", eos_token="[SEP]", sep_token="[SEP]", cls_token="[CLS]",
                   pad_token="[PAD]", unk_token="[UNK]", mask_token="[MASK]"),
    )
    return transformers.BlipProcessor(image_processor=image, tokenizer=tok)


_spec(SynthSpec("blip-captioning-base", "Salesforce/blip-image-captioning-base", "float32",
                _blip_config, _blip_processor,
                note="byte-level BPE in place of BERT's uncased WordPiece (same ids and size)"))


# -- ViT-L/16 at 224 px, 102 classes ---------------------------------------------------------
# google/vit-large-patch16-224 config.json: 1024 wide, 16 heads of 64, 24 layers, 4096 MLP,
# patch 16 -> 196 patches + CLS; the head replaced by a 102-class one (Oxford Flowers-102).
def _vit_config(depth: Depth) -> Any:
    import transformers

    names = [f"class_{i}" for i in range(102)]
    return transformers.ViTConfig(
        hidden_size=1024, intermediate_size=4096, num_hidden_layers=depth(24),
        num_attention_heads=16, image_size=224, patch_size=16, num_channels=3,
        num_labels=102, id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
    )


def _vit_processor(config: Any) -> Any:
    import transformers

    return transformers.ViTImageProcessorPil(
        size={"height": 224, "width": 224}, image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5], do_convert_rgb=True,
    )


_spec(SynthSpec("vit-large-flowers102", "google/vit-large-patch16-224", "float32",
                _vit_config, _vit_processor, note="102-class head (Oxford Flowers-102)"))


def depth_rule(layers: int | None, depth_scale: float | None) -> Depth:
    """The depth to build each tower at: published, capped at `layers`, or scaled."""
    if layers is not None and depth_scale is not None:
        raise VlmqError("synth: give --layers or --depth-scale, not both")
    if layers is not None:
        if layers < 1:
            raise VlmqError(f"synth: --layers {layers} must be at least 1")
        return lambda n: min(n, layers)
    if depth_scale is not None:
        if not 0 < depth_scale <= 1:
            raise VlmqError(f"synth: --depth-scale {depth_scale} must be in (0, 1]")
        return lambda n: max(1, round(n * depth_scale))
    return lambda n: n
