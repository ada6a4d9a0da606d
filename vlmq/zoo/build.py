"""Architectures, tokenizer and processors of the zoo models, built from config classes alone."""

from __future__ import annotations

from collections.abc import Iterable

import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

IMAGE_SIZE = 96
PATCH = 12
IMAGE_TOKENS = (IMAGE_SIZE // PATCH) ** 2  # the CLS feature is dropped ("default" strategy)
VOCAB = 1024  # a multiple of 64, like every other width here, so bnb kernels fit every Linear
SPECIALS = ("<pad>", "<s>", "</s>", "<image>")
PAD_ID, BOS_ID, EOS_ID, IMAGE_ID = range(4)
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# USER: <image>\n{prompt}\nASSISTANT: {answer}</s> -- content may be a string or typed parts.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '\\n' }}{% else %}</s>{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def train_tokenizer(corpus: Iterable[str]) -> transformers.PreTrainedTokenizerFast:
    """A byte-level BPE of VOCAB entries trained on the task texts, wrapped for transformers."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", BOS_ID)]
    )
    wrapped = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
        padding_side="left",
    )
    return wrapped


def _clip_image_processor() -> transformers.image_processing_utils.BaseImageProcessor:
    cls = getattr(transformers, "CLIPImageProcessorPil", None) or transformers.CLIPImageProcessor
    return cls(
        size={"shortest_edge": IMAGE_SIZE},
        crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        image_mean=CLIP_MEAN,
        image_std=CLIP_STD,
        do_convert_rgb=True,
    )


def llava_processor(tokenizer: transformers.PreTrainedTokenizerFast) -> transformers.LlavaProcessor:
    return transformers.LlavaProcessor(
        image_processor=_clip_image_processor(),
        tokenizer=tokenizer,
        patch_size=PATCH,
        vision_feature_select_strategy="default",
        chat_template=CHAT_TEMPLATE,
        image_token="<image>",
        num_additional_image_tokens=1,
    )


def llava_model(seed: int) -> transformers.LlavaForConditionalGeneration:
    """About 6.6M parameters: a 6-layer CLIP tower (192 wide) and a 4-layer Llama (256 wide)."""
    vision = transformers.CLIPVisionConfig(
        hidden_size=192,
        intermediate_size=768,
        num_hidden_layers=6,
        num_attention_heads=3,
        image_size=IMAGE_SIZE,
        patch_size=PATCH,
        projection_dim=256,
    )
    text = transformers.LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        tie_word_embeddings=False,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
    )
    config = transformers.LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=IMAGE_ID,
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
        image_seq_length=IMAGE_TOKENS,
        projector_hidden_act="gelu",
    )
    transformers.set_seed(seed)
    model = transformers.LlavaForConditionalGeneration(config)
    gen = model.generation_config
    gen.bos_token_id, gen.eos_token_id, gen.pad_token_id = BOS_ID, EOS_ID, PAD_ID
    gen.do_sample = False
    gen.max_new_tokens = 64
    return model


FASHION_SIZE = 28


def vit_processor() -> transformers.image_processing_utils.BaseImageProcessor:
    cls = getattr(transformers, "ViTImageProcessorPil", None) or transformers.ViTImageProcessor
    return cls(
        size={"height": FASHION_SIZE, "width": FASHION_SIZE},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
        do_convert_rgb=True,
    )


def vit_model(seed: int, class_names: Iterable[str]) -> transformers.ViTForImageClassification:
    """About 1.2M parameters: 6 layers, 128 wide, 4x4 patches of a 28x28 image."""
    names = list(class_names)
    config = transformers.ViTConfig(
        image_size=FASHION_SIZE,
        patch_size=4,
        num_channels=3,
        hidden_size=128,
        intermediate_size=512,
        num_hidden_layers=6,
        num_attention_heads=4,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
    )
    transformers.set_seed(seed)
    return transformers.ViTForImageClassification(config)
