"""Runs INSIDE llm-compressor's venv (vlmq.calibration.venv), as a subprocess:

    python -m vlmq.calibration.llmcompressor_worker job.json

It imports only torch, transformers and llm-compressor (the venv's versions), calibrates the
model with the job's recipe on the job's batches (prepared by the main environment), and writes:
- the compressed-tensors checkpoint (with the source's processor files) into `out`;
- `in_process`: the weights llm-compressor left in memory (quantized-dequantized Linear weights,
  and the norms SmoothQuant rescaled), which the in-process variant loads;
- `result`: {"seconds": calibration time, "quantized": how many Linear layers}.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json", "chat_template.json",
                   "chat_template.jinja", "special_tokens_map.json", "vocab.json", "merges.txt")


def _in_process(model: Any, smoothed: list[str]) -> dict[str, Any]:
    """The weights as they are in memory, not copies: saved before the export packs them, and a
    float32 copy of every Linear beside the float32 model would double calibration's peak
    (Qwen2.5-VL-3B: 15 GB + 12 GB on a 24 GB machine)."""
    out = {}
    for name, module in model.named_modules():
        quantized = getattr(module, "quantization_scheme", None) is not None
        if quantized or any(re.match(p, name) for p in smoothed):
            out[f"{name}.weight"] = module.weight.detach().float().contiguous()
    return out


def _processor(transformers: Any, source: str) -> Any:
    """The model's processor, or its tokenizer where this venv's transformers cannot build it
    (its Idefics3 image processor needs torchvision, which the venv does not have; its Qwen2.5-VL
    processor wants a video processor that a folder saved without one lacks): the batches come
    ready-made from the main environment, so llm-compressor only reads text."""
    try:
        return transformers.AutoProcessor.from_pretrained(source)
    except (ImportError, ValueError, OSError):  # OSError: no video processor files
        return transformers.AutoTokenizer.from_pretrained(source)


def _copy_processor_files(source: Path, out: Path) -> None:
    """The checkpoint's processor is the source model's: its files, copied as they are."""
    import shutil

    for f in source.iterdir():
        if f.is_file() and (f.name in PROCESSOR_FILES or f.name.startswith("tokenizer")):
            shutil.copy2(f, out / f.name)


def main(job_file: str) -> None:
    import torch
    import transformers
    from llmcompressor import oneshot
    from safetensors.torch import save_file
    from torch.utils.data import DataLoader

    job = json.loads(Path(job_file).read_text())
    torch.manual_seed(job["seed"])
    model_class = getattr(transformers, job["model_class"])
    model = model_class.from_pretrained(job["source"], dtype=torch.float32).eval()
    processor = _processor(transformers, job["source"])
    batches = torch.load(job["batches"])
    start = time.perf_counter()
    model = oneshot(model=model, processor=processor, recipe=json.dumps(job["recipe"]),
                    dataset=DataLoader(batches, batch_size=None),
                    num_calibration_samples=len(batches))
    seconds = time.perf_counter() - start
    quantized = sum(1 for m in model.modules()
                    if getattr(m, "quantization_scheme", None) is not None)
    save_file(_in_process(model, job["smoothed"]), job["in_process"])
    model.save_pretrained(job["out"], save_compressed=True)  # packs the weights in place
    _copy_processor_files(Path(job["source"]), Path(job["out"]))
    Path(job["result"]).write_text(json.dumps({"seconds": seconds, "quantized": quantized}))


if __name__ == "__main__":
    main(sys.argv[1])
