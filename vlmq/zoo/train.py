"""Train the zoo checkpoints from nothing: `python -m vlmq.zoo.train --model all`.

Seeded and reproducible for a given device. Every example tensor lives on the training
device for the whole run (a few hundred MB), so a step is one gather, no data loader.
Each checkpoint folder gets the model, its processor and `training_info.json`; the model
card (README.md) is written by `vlmq.zoo.evaluate` once held-out quality is measured, which
happens here at the end of training when the evaluation packages are installed.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers

from vlmq.zoo import ZOO, build, trainset

SEED = 1234
# The recipes of the committed checkpoints (steps as fixed by their GPU time budget).
LLAVA_RECIPE = {"steps": 2772, "batch_size": 768, "lr": 1.2e-3}
VIT_RECIPE = {"steps": 2497, "batch_size": 512, "lr": 1e-3}
MAX_LEN = 128  # prompt (with 64 image tokens) + answer; the longest caption needs ~120


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _lr(step: int, total: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


class _Schedule:
    """Cosine schedule whose length can shrink once, after timing the first steps, to a budget."""

    def __init__(self, steps: int, peak: float, budget_s: float | None) -> None:
        self.total, self.peak, self.budget_s = steps, peak, budget_s
        self.warmup = min(300, max(1, steps // 2))  # fixed when a budget later shortens the run
        self._t0: float | None = None

    def lr(self, step: int) -> float:
        if self.budget_s is not None and step == 20:
            self._t0 = time.perf_counter()
        if self._t0 is not None and step == 120:
            per_step = (time.perf_counter() - self._t0) / 100
            self.total = min(self.total, int(self.budget_s / per_step))
            self._t0 = None
        return _lr(step, self.total, self.peak, self.warmup)


def _encode(tokenizer, processor, ex: trainset.VlmExamples) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and labels [n, MAX_LEN], right-padded; only the answer (and </s>) is learned."""
    prompt_ids: dict[str, list[int]] = {}
    target_ids: dict[str, list[int]] = {}
    ids = np.full((len(ex.prompts), MAX_LEN), build.PAD_ID, dtype=np.int64)
    labels = np.full((len(ex.prompts), MAX_LEN), -100, dtype=np.int64)
    for k, (prompt, target) in enumerate(zip(ex.prompts, ex.targets, strict=True)):
        if prompt not in prompt_ids:
            content = [{"type": "image"}, {"type": "text", "text": prompt}]
            text = processor.apply_chat_template(
                [{"role": "user", "content": content}], add_generation_prompt=True
            )
            text = text.replace("<image>", "<image>" * build.IMAGE_TOKENS)
            prompt_ids[prompt] = tokenizer(text)["input_ids"]
        if target not in target_ids:
            target_ids[target] = tokenizer(" " + target, add_special_tokens=False)["input_ids"]
        p, t = prompt_ids[prompt], target_ids[target] + [build.EOS_ID]
        if len(p) + len(t) > MAX_LEN:
            raise ValueError(f"example {k} is {len(p) + len(t)} tokens, over MAX_LEN={MAX_LEN}")
        ids[k, : len(p) + len(t)] = p + t
        labels[k, len(p) : len(p) + len(t)] = t
    return ids, labels


def _pixels(images_u8: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (images_u8.permute(0, 3, 1, 2).float() / 255 - mean) / std


def train_llava(args: argparse.Namespace, device: torch.device, out: Path) -> Path:
    t_start = time.perf_counter()
    ex = trainset.vlm_examples(args.data, scale=args.scale)
    corpus = sorted(set(ex.prompts) | set(ex.targets) | set(ex.extra_text)) + ["USER: ASSISTANT:"]
    tokenizer = build.train_tokenizer(corpus)
    processor = build.llava_processor(tokenizer)
    ids_np, labels_np = _encode(tokenizer, processor, ex)
    t_data = time.perf_counter() - t_start

    model = build.llava_model(SEED).to(device)
    data = _LlavaData(
        images=torch.from_numpy(np.stack(ex.images)).to(device),
        img_index=torch.tensor(ex.image_index, device=device),
        ids=torch.from_numpy(ids_np).to(device), labels=torch.from_numpy(labels_np).to(device),
        mean=torch.tensor(build.CLIP_MEAN, device=device).view(1, 3, 1, 1),
        std=torch.tensor(build.CLIP_STD, device=device).view(1, 3, 1, 1))
    batch_size = args.batch_size or LLAVA_RECIPE["batch_size"]
    steps = args.steps or LLAVA_RECIPE["steps"]
    sched = _Schedule(steps, args.lr or LLAVA_RECIPE["lr"], args.time_budget)
    step, losses, train_s = _fit_llava(model, data, sched, batch_size, device)

    folder = out / "llava-tiny"
    model.eval()
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    counts = {t: ex.tasks.count(t) for t in sorted(set(ex.tasks))}
    _write_info(folder, model, device, step, train_s, {
        "model": "llava-tiny",
        "architecture": "LlavaForConditionalGeneration",
        "train_examples": counts,
        "train_images": len(ex.images),
        "batch_size": batch_size,
        "peak_lr": sched.peak,
        "final_loss": round(losses[-1], 4),
        "data_seconds": round(t_data, 1),
    })
    return folder


@dataclass(frozen=True)
class _LlavaData:
    """The encoded training set on the device: token ids and labels per example, the images
    and which image each example shows, and CLIP's normalization."""

    images: torch.Tensor
    img_index: torch.Tensor
    ids: torch.Tensor
    labels: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor


def _fit_llava(model: Any, data: _LlavaData, sched: _Schedule, batch_size: int,
               device: torch.device) -> tuple[int, list[float], float]:
    """The training loop: (steps run, sampled losses, seconds)."""
    ids, labels, n = data.ids, data.labels, data.ids.shape[0]
    opt = torch.optim.AdamW(model.parameters(), lr=sched.peak, betas=(0.9, 0.98), weight_decay=0.05)
    gen = torch.Generator().manual_seed(SEED)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    model.train()
    t0 = time.perf_counter()
    losses: list[float] = []
    step = 0
    while step < sched.total:
        for group in opt.param_groups:
            group["lr"] = sched.lr(step)
        batch = torch.randint(0, n, (batch_size,), generator=gen).to(device)
        b_ids, b_labels = ids[batch], labels[batch]
        length = int((b_ids != build.PAD_ID).sum(1).max())  # trim the shared right padding
        b_ids, b_labels = b_ids[:, :length], b_labels[:, :length]
        with autocast:
            loss = model(
                input_ids=b_ids,
                attention_mask=(b_ids != build.PAD_ID).long(),
                pixel_values=_pixels(data.images[data.img_index[batch]], data.mean, data.std),
                labels=b_labels,
            ).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == sched.total - 1:  # a float() waits for the GPU: not every step
            losses.append(float(loss.detach()))
        if step % 500 == 0:
            print(f"llava step {step}/{sched.total} loss {losses[-1]:.4f}", flush=True)
        step += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return step, losses, time.perf_counter() - t0


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random flips and shifts of up to 2 px (Fashion-MNIST is centred, so small ones)."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen).to(x.device) < 0.5
    x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = (int(v) for v in torch.randint(0, 5, (2,), generator=gen))
    return padded[:, :, dy : dy + x.shape[2], dx : dx + x.shape[3]]


def train_vit(args: argparse.Namespace, device: torch.device, out: Path) -> Path:
    from vlmq.data.embedded.fashion import CLASS_NAMES

    arrays = trainset.fashion_arrays(args.data)
    keep = max(64, int(len(arrays["train_x"]) * min(1.0, args.scale)))

    def as_input(x: np.ndarray) -> torch.Tensor:  # grey -> RGB in [-1, 1], the processor's scale
        t = torch.tensor(x, device=device).float().div(255).sub(0.5).div(0.5)
        return t.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()

    x, y = as_input(arrays["train_x"][:keep]), torch.from_numpy(arrays["train_y"][:keep]).to(device)
    vx, vy = as_input(arrays["validation_x"]), torch.from_numpy(arrays["validation_y"]).to(device)
    model = build.vit_model(SEED, CLASS_NAMES).to(device)
    batch_size = args.batch_size or VIT_RECIPE["batch_size"]
    steps = args.steps or VIT_RECIPE["steps"]
    sched = _Schedule(steps, args.lr or VIT_RECIPE["lr"], args.time_budget)
    opt = torch.optim.AdamW(model.parameters(), lr=sched.peak, weight_decay=0.05)
    gen = torch.Generator().manual_seed(SEED)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    model.train()
    t0 = time.perf_counter()
    step = 0
    loss = torch.tensor(0.0)
    while step < sched.total:
        for group in opt.param_groups:
            group["lr"] = sched.lr(step)
        batch = torch.randint(0, x.shape[0], (batch_size,), generator=gen).to(device)
        with autocast:
            logits = model(pixel_values=_augment(x[batch], gen)).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), y[batch], label_smoothing=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 1000 == 0:
            print(f"vit step {step}/{sched.total} loss {float(loss.detach()):.4f}", flush=True)
        step += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_s = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        chunks = [vx[i : i + 1000] for i in range(0, len(vx), 1000)]
        pred = torch.cat([model(pixel_values=c).logits.argmax(-1) for c in chunks])
    val_acc = float((pred == vy).float().mean())
    folder = out / "vit-tiny"
    model.save_pretrained(folder)
    build.vit_processor().save_pretrained(folder)
    _write_info(folder, model, device, step, train_s, {
        "model": "vit-tiny",
        "architecture": "ViTForImageClassification",
        "train_examples": {"fashion-mnist": int(x.shape[0])},
        "batch_size": batch_size,
        "peak_lr": sched.peak,
        "final_loss": round(float(loss.detach()), 4),
        "validation_top1": round(val_acc, 4),
    })
    return folder


def _write_info(folder: Path, model: torch.nn.Module, device: torch.device, steps: int,
                train_s: float, info: dict) -> None:
    """training_info.json: the model's own facts plus what every training run records."""
    info |= {
        "parameters": sum(p.numel() for p in model.parameters()),
        "steps": steps,
        "train_seconds": round(train_s, 1),
        "seconds_per_step": round(train_s / max(1, steps), 4),
        "device": _device_name(device),
        "precision": "bf16 autocast, fp32 master weights" if device.type == "cuda" else "fp32",
        "seed": SEED,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "command": "python -m vlmq.zoo.train " + " ".join(_ARGV),
        "weights": "fp32 safetensors",
    }
    (folder / "training_info.json").write_text(json.dumps(info, indent=2) + "\n")


_ARGV: list[str] = []


def main(argv: list[str] | None = None) -> None:
    import sys

    _ARGV[:] = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m vlmq.zoo.train", description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=("llava-tiny", "vit-tiny", "all"), default="all")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the recipe)")
    p.add_argument("--out", type=Path, default=None, help="parent folder (default: vlmq/zoo)")
    p.add_argument("--data", type=Path, default=None, help="folder from --export-data")
    p.add_argument("--export-data", type=Path, default=None,
                   help="write the packaged data (easy-vqa, Fashion-MNIST) as arrays and exit")
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the training data")
    p.add_argument("--batch-size", type=int, default=None, help="default: the recipe")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--time-budget", type=float, default=None,
                   help="seconds per model: shorten the schedule to fit, after timing steps")
    p.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation")
    args = p.parse_args(argv)
    if args.export_data is not None:
        for path in trainset.export_packaged(args.export_data):
            print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
        return
    torch.manual_seed(SEED)
    device = torch.device(args.device)
    out = args.out or ZOO["llava-tiny"].parent
    todo = ["llava-tiny", "vit-tiny"] if args.model == "all" else [args.model]
    for name in todo:
        folder = (train_llava if name == "llava-tiny" else train_vit)(args, device, out)
        print(f"saved {folder}", flush=True)
        if not args.no_eval:
            from vlmq.zoo import evaluate

            evaluate.evaluate_and_card(folder, name)


if __name__ == "__main__":
    main()
