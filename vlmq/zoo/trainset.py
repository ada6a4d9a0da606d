"""Training examples of the zoo models, from the generators and the packaged data.

The generated sets are rebuilt from their seeds wherever the training runs; easy-vqa and
Fashion-MNIST come from their packages or, on a machine without them, from a folder that
`export_packaged` wrote (a few compressed arrays that travel with the training command).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from vlmq.data.embedded import builders, scenes, signs

VQA_SUFFIX = "\nAnswer the question using a single word or phrase."
TRAIN_SIZES = {"coco-scenes": 30000, "text-signs": 60000}
_EASY_VQA_FILE = "easy_vqa_train.npz"
_FASHION_FILE = "fashion_mnist.npz"


@dataclass
class VlmExamples:
    """Images once each, and (image, prompt, target) examples that point at them."""

    images: list[np.ndarray] = field(default_factory=list)  # uint8 [96, 96, 3]
    image_index: list[int] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    extra_text: list[str] = field(default_factory=list)  # more text for the tokenizer corpus

    def add(self, image: np.ndarray | int, prompt: str, target: str, task: str) -> None:
        if isinstance(image, int):
            self.image_index.append(image)
        else:
            self.image_index.append(len(self.images))
            self.images.append(image)
        self.prompts.append(prompt)
        self.targets.append(target)
        self.tasks.append(task)


def _scene_chunk(indices: range) -> list[tuple[np.ndarray, list[str]]]:
    seed = builders.SCENE_SEEDS["train"]
    samples = (scenes.sample(seed, i) for i in indices)
    return [(np.asarray(s["image"]), s["captions"]) for s in samples]


def _sign_chunk(indices: range) -> list[tuple[np.ndarray, str, str]]:
    seed = builders.SIGN_SEEDS["train"]
    out = []
    for i in indices:
        s = signs.sample(seed, i)
        out.append((np.asarray(s["image"]), s["question"], s["word"]))
    return out


def _parallel(fn, n: int, workers: int) -> list:
    step = max(1, n // (workers * 4))
    chunks = [range(a, min(n, a + step)) for a in range(0, n, step)]
    if workers <= 1:
        return [x for c in chunks for x in fn(c)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [x for part in pool.map(fn, chunks) for x in part]


def add_scenes(ex: VlmExamples, n: int, workers: int) -> None:
    """Scenes of the train split; the target is the canonical (first) reference."""
    for image, refs in _parallel(_scene_chunk, n, workers):
        ex.add(image, scenes.PROMPT, refs[0], "coco-scenes")
        ex.extra_text.extend(refs[1:])


def add_signs(ex: VlmExamples, n: int, workers: int) -> None:
    """Signs of the train split; the target is the word, lower case, as most answers normalize."""
    for image, question, word in _parallel(_sign_chunk, n, workers):
        ex.add(image, question + VQA_SUFFIX, word, "text-signs")


def _easy_vqa_arrays(
    limit: int | None = None,
) -> tuple[np.ndarray, list[int], list[str], list[str]]:
    from vlmq.data.embedded import easyvqa

    qs = easyvqa.questions("train")[:limit]
    slot: dict[int, int] = {}
    images = []
    for q in qs:
        if q.image_id not in slot:
            slot[q.image_id] = len(images)
            with Image.open(q.image_path) as im:
                # The processor's own resize (bicubic to 96 px), done once here.
                rgb = im.convert("RGB").resize((96, 96), Image.Resampling.BICUBIC)
            images.append(np.asarray(rgb))
    return (
        np.stack(images),
        [slot[q.image_id] for q in qs],
        [q.question for q in qs],
        [q.answer for q in qs],
    )


def add_easy_vqa(ex: VlmExamples, data_dir: Path | None, limit: int | None) -> None:
    if data_dir is not None and (data_dir / _EASY_VQA_FILE).exists():
        z = np.load(data_dir / _EASY_VQA_FILE)
        meta = json.loads(str(z["meta"]))
        images, index, questions, answers = z["images"], meta["index"], meta["q"], meta["a"]
    else:
        images, index, questions, answers = _easy_vqa_arrays(limit)
    base = len(ex.images)
    ex.images.extend(images)
    keep = len(questions) if limit is None else min(limit, len(questions))
    for k in range(keep):
        ex.add(base + index[k], questions[k] + VQA_SUFFIX, answers[k], "easy-vqa")


def fashion_arrays(data_dir: Path | None) -> dict[str, np.ndarray]:
    """Fashion-MNIST train and validation images (uint8, 28x28) and labels."""
    if data_dir is not None and (data_dir / _FASHION_FILE).exists():
        z = np.load(data_dir / _FASHION_FILE)
        return {k: z[k] for k in z.files}
    from vlmq.data.embedded import fashion

    out = {}
    for split in ("train", "validation"):
        out[f"{split}_x"], out[f"{split}_y"] = fashion.arrays(split)
    return out


def export_packaged(data_dir: Path) -> list[Path]:
    """Write easy-vqa's train split and Fashion-MNIST as arrays, for a machine without them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    images, index, questions, answers = _easy_vqa_arrays()
    meta = json.dumps({"index": index, "q": questions, "a": answers})
    np.savez_compressed(data_dir / _EASY_VQA_FILE, images=images, meta=np.array(meta))
    np.savez_compressed(data_dir / _FASHION_FILE, **fashion_arrays(None))
    return [data_dir / _EASY_VQA_FILE, data_dir / _FASHION_FILE]


def vlm_examples(
    data_dir: Path | None, scale: float = 1.0, workers: int | None = None
) -> VlmExamples:
    """All three generative tasks; `scale` < 1 shrinks every source (smoke runs)."""
    workers = workers or os.cpu_count() or 1
    ex = VlmExamples()
    add_scenes(ex, max(8, int(TRAIN_SIZES["coco-scenes"] * scale)), workers)
    add_signs(ex, max(8, int(TRAIN_SIZES["text-signs"] * scale)), workers)
    add_easy_vqa(ex, data_dir, None if scale >= 1 else max(8, int(35000 * scale)))
    return ex
