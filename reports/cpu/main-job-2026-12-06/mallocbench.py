"""Time llava-tiny greedy generation on a fixed batch under one glibc malloc setting (argv[1]):
dynamic (never touched), fixed (mmap threshold 32 MiB, as vlmq sets after loading), fixed+trim
(also trim threshold 64 MiB, what glibc's dynamic rule would set)."""
import ctypes
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

mode = sys.argv[1]
libc = ctypes.CDLL("libc.so.6")
path = "/work/main/vlmq/zoo/llava-tiny"
proc = AutoProcessor.from_pretrained(path)
model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32).eval()
if mode != "dynamic":
    libc.mallopt(-3, 32 << 20)
if mode == "fixed+trim":
    libc.mallopt(-1, 64 << 20)
rng = np.random.default_rng(0)
imgs = [Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)) for _ in range(16)]
conv = [{"role": "user", "content": [{"type": "image"},
                                     {"type": "text", "text": "Describe the image."}]}]
prompt = proc.apply_chat_template(conv, add_generation_prompt=True)
inputs = proc(images=imgs, text=[prompt] * 16, return_tensors="pt", padding=True)
times = []
with torch.inference_mode():
    for _i in range(12):
        t = time.perf_counter()
        model.generate(**inputs, max_new_tokens=16, min_new_tokens=16, do_sample=False)
        times.append(time.perf_counter() - t)
print(mode, "median of 10 after 2 warm-ups:", round(statistics.median(times[2:]) * 1000, 1), "ms")
