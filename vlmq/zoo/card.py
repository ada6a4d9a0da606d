"""The model card (README.md) of a zoo checkpoint, from its training_info.json and quality.json."""

from __future__ import annotations

import json
from pathlib import Path

# the quality bars of issue 3, by vlmq task (dataset) and metric
_BARS = {
    ("caption", "cider"): 1.5,  # coco-scenes
    ("textvqa", "accuracy"): 0.80,  # text-signs
    ("vqa", "accuracy"): 0.90,  # easy-vqa
    ("classify", "top1"): 0.85,  # fashion-mnist
}
_DATASETS = {"caption": "coco-scenes", "textvqa": "text-signs", "vqa": "easy-vqa",
             "classify": "fashion-mnist"}
_SUMMARY = {
    "llava-tiny": (
        "A small `LlavaForConditionalGeneration` (CLIP vision tower, two-layer projector, Llama "
        "text model) trained from scratch at once on three generative tasks of vlmq's embedded "
        "data: coco-scenes captions, text-signs text reading and easy-vqa questions. Its "
        "byte-level BPE tokenizer was trained on those texts with the `tokenizers` library."
    ),
    "vit-tiny": (
        "A small `ViTForImageClassification` trained from scratch on Fashion-MNIST "
        "(Debian's dataset-fashion-mnist; the last 5,000 train images held out for validation)."
    ),
}


def _quality_table(quality: dict) -> list[str]:
    kinds = [k for k in ("fp32", "int8", "nf4") if k in quality]
    lines = ["| task | metric | bar | " + " | ".join(kinds) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in kinds) + " |"]
    for (task, metric), bar in _BARS.items():
        if task not in quality["fp32"]:
            continue
        cells = [f"{quality[k][task][metric]:.3f}" for k in kinds]
        n = quality["fp32"][task]["n"]
        lines.append(f"| {task}: {_DATASETS[task]} (test, n={n}) | {metric} | >= {bar} | "
                     + " | ".join(cells) + " |")
    return lines


def write_card(folder: Path) -> Path:
    info = json.loads((folder / "training_info.json").read_text())
    quality_path = folder / "quality.json"
    lines = [f"# {info['model']}", "", _SUMMARY[info["model"]], ""]
    lines += ["## Training", ""]
    keys = ("architecture", "parameters", "train_examples", "train_images", "steps", "batch_size",
            "peak_lr", "final_loss", "validation_top1", "precision", "device", "train_seconds",
            "seconds_per_step", "cpu_seconds_per_step", "cpu_timing_command", "seed", "torch",
            "transformers", "weights", "command")
    lines += [f"- {k}: {info[k]}" for k in keys if k in info]
    if "cpu_seconds_per_step" in info:
        hours = info["cpu_seconds_per_step"] * info["steps"] / 3600
        lines.append(
            f"- extrapolated time of the same run on that CPU: about {hours:.1f} h "
            "(cpu_seconds_per_step x steps; the timing machine was shared, so roughly)"
        )
    lines += [
        "",
        "## Reproduce",
        "",
        "The generated sets are rebuilt from their seeds wherever training runs; easy-vqa and",
        "Fashion-MNIST travel as arrays to a machine that lacks their packages:",
        "",
        "```",
        "python -m vlmq.zoo.train --export-data .gpu-train/data",
        f"python -m vlmq.zoo.train --model {info['model']} --device cuda --data .gpu-train/data "
        f"--steps {info['steps']} --batch-size {info['batch_size']} --lr {info['peak_lr']}",
        "```",
        "",
        "(bf16 GPU kernels are not bit-exact from run to run; the numbers below move slightly.)",
    ]
    lines += ["", "## Held-out quality", ""]
    if quality_path.exists():
        quality = json.loads(quality_path.read_text())
        lines += [
            "Measured by the harness itself, `python -m vlmq.zoo.evaluate --model "
            f"{info['model']} --quant` (a vlmq benchmark session on the CPU over the whole test "
            "splits: greedy, lmms-eval prompts, pycocoevalcap CIDEr-D with the PTB tokenizer, "
            "EvalAI VQA accuracy, top-1). int8 / nf4 are vlmq's variants of those names "
            "(bitsandbytes; the head kept in full precision).",
            "",
            *_quality_table(quality),
        ]
    else:
        lines.append("Not measured yet: run `python -m vlmq.zoo.evaluate`.")
    path = folder / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path
