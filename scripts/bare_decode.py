"""Bare transformers decode timing on a model folder: the reference the harness must match.

    python scripts/bare_decode.py DIR [--new-tokens 64] [--mode eager|static|compiled]
        [--device cuda] [--dtype float32] [--attn sdpa] [--image-size 336]

Loads the folder in --dtype (default float16 on CUDA, float32 on CPU), feeds one square image
and a short prompt through the folder's own processor, and times greedy decoding of exactly
--new-tokens tokens (eos ignored), after two warm-up calls; prints the median ms per decode
step over five calls. static: transformers' static KV cache, eager; compiled: the static cache
with transformers' own compilation of the decode step (on CPU only when its compile config
says all devices). No vlmq code is on the measured path.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import transformers
from PIL import Image
from transformers.models.auto.processing_auto import PROCESSOR_MAPPING_NAMES


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--mode", choices=("eager", "static", "compiled"), default="compiled")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="")
    p.add_argument("--attn", default="sdpa")
    p.add_argument("--image-size", type=int, default=336)
    args = p.parse_args()
    on_gpu = args.device.startswith("cuda")
    dtype = getattr(torch, args.dtype) if args.dtype else (torch.float16 if on_gpu
                                                           else torch.float32)
    model = transformers.AutoModelForImageTextToText.from_pretrained(
        args.folder, dtype=dtype, device_map={"": args.device},
        attn_implementation=args.attn).eval()
    processor = _processor(args.folder)
    messages = [{"role": "user", "content": [{"type": "image"},
                                             {"type": "text", "text": "Describe the image."}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    image = Image.new("RGB", (args.image_size,) * 2, (120, 60, 200))
    inputs = processor(images=[image], text=[text], return_tensors="pt").to(args.device,
                                                                             dtype=dtype)
    extra = _mode_options(args.mode, on_gpu)

    def run(n: int) -> float:
        torch.cuda.synchronize() if args.device.startswith("cuda") else None
        start = time.perf_counter()
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                           **extra)
        torch.cuda.synchronize() if args.device.startswith("cuda") else None
        return time.perf_counter() - start

    for _ in range(2):  # both lengths: a static cache's shape depends on it (one compile each)
        run(args.new_tokens)
        run(1)
    # a step's time: the difference between decoding n and 1 tokens, over n - 1 steps
    steps = [(run(args.new_tokens) - run(1)) / (args.new_tokens - 1) for _ in range(5)]
    print(f"{args.mode} decode: {1000 * statistics.median(steps):.2f} ms/step "
          f"(batch 1, {args.new_tokens} new tokens, {args.device}, {dtype})")


def _processor(folder: str):
    """The folder's processor; without torchvision, processors with a video half (SmolVLM,
    Qwen2.5-VL) are built from their image processor and tokenizer by vlmq's helper, which
    only prepares the inputs: nothing of vlmq runs in the timed calls."""
    try:
        return transformers.AutoProcessor.from_pretrained(folder)
    except OSError:
        from vlmq.models.processors import load_images_only

        # the processor class transformers' own auto mapping names for this model type
        model_type = transformers.AutoConfig.from_pretrained(folder).model_type
        cls = getattr(transformers, PROCESSOR_MAPPING_NAMES[model_type])
        return load_images_only(cls, folder)


def _mode_options(mode: str, on_gpu: bool) -> dict:
    if mode == "eager":
        return {"disable_compile": True}
    if mode == "static":
        return {"cache_implementation": "static", "disable_compile": True}
    config = transformers.CompileConfig(mode="reduce-overhead" if on_gpu else "default")
    config._compile_all_devices = not on_gpu  # transformers compiles on CPU only when told
    return {"cache_implementation": "static", "compile_config": config}


if __name__ == "__main__":
    main()
