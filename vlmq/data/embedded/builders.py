"""Turn the generators and packaged files into `datasets.Dataset` splits in the real layouts.

`datasets` is imported inside the builders, so the generators and their seeds stay usable on a
machine without it (the training machine).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

from vlmq.data.embedded import easyvqa, fashion, scenes, signs

if TYPE_CHECKING:
    import datasets

SCENES_VERSION = "scenes-v1"
SIGNS_VERSION = "signs-v2"
EASY_VQA_VERSION = "easyvqa-v1"
FASHION_VERSION = "fashion-v1"

# One seed per split keeps the splits apart; sample i of a split depends on (seed, i) alone.
SCENE_SEEDS = {"train": 11, "validation": 12, "test": 13}
SIGN_SEEDS = {"train": 21, "validation": 22, "test": 23}
GENERATED_SIZES = {"train": 30000, "validation": 500, "test": 1000}
_SET_NAMES = {"train": "train", "validation": "val", "test": "test"}


def scene_image_id(split: str, index: int) -> int:
    return SCENE_SEEDS[split] * 1_000_000 + index


def build_scenes(split: str, n: int | None = None) -> datasets.Dataset:
    import datasets

    n = GENERATED_SIZES[split] if n is None else n
    seed = SCENE_SEEDS[split]
    rows: dict[str, list] = {"image": [], "question_id": [], "question": [], "answer": [], "id": []}
    for i in range(n):
        s = scenes.sample(seed, i)
        image_id = scene_image_id(split, i)
        rows["image"].append(s["image"])
        rows["question_id"].append(f"{image_id:012d}.jpg")
        rows["question"].append(scenes.PROMPT)
        rows["answer"].append(s["captions"])
        rows["id"].append(image_id)
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "question_id": datasets.Value("string"),
            "question": datasets.Value("string"),
            "answer": datasets.Sequence(datasets.Value("string")),
            "id": datasets.Value("int64"),
        }
    )
    return datasets.Dataset.from_dict(rows, features=features, split=split)


def build_signs(split: str, n: int | None = None) -> datasets.Dataset:
    import datasets

    n = GENERATED_SIZES[split] if n is None else n
    seed = SIGN_SEEDS[split]
    cols = (
        "image_id", "question_id", "question", "question_tokens", "image", "image_width",
        "image_height", "flickr_original_url", "flickr_300k_url", "answers", "image_classes",
        "set_name", "ocr_tokens",
    )
    rows: dict[str, list] = {c: [] for c in cols}
    for i in range(n):
        s = signs.sample(seed, i)
        rows["image_id"].append(f"{seed:04x}{i:012x}")
        rows["question_id"].append(seed * 1_000_000 + i)
        rows["question"].append(s["question"])
        rows["question_tokens"].append(s["question"].rstrip("?").split())
        rows["image"].append(s["image"])
        rows["image_width"].append(s["image"].width)
        rows["image_height"].append(s["image"].height)
        rows["flickr_original_url"].append("")
        rows["flickr_300k_url"].append("")
        rows["answers"].append(s["answers"])
        rows["image_classes"].append([s["style"].capitalize(), "Text"])
        rows["set_name"].append(_SET_NAMES[split])
        rows["ocr_tokens"].append([s["shown"]])
    strings = datasets.Sequence(datasets.Value("string"))
    features = datasets.Features(
        {
            "image_id": datasets.Value("string"),
            "question_id": datasets.Value("int32"),
            "question": datasets.Value("string"),
            "question_tokens": strings,
            "image": datasets.Image(),
            "image_width": datasets.Value("int32"),
            "image_height": datasets.Value("int32"),
            "flickr_original_url": datasets.Value("string"),
            "flickr_300k_url": datasets.Value("string"),
            "answers": strings,
            "image_classes": strings,
            "set_name": datasets.Value("string"),
            "ocr_tokens": strings,
        }
    )
    return datasets.Dataset.from_dict(rows, features=features, split=split)


def build_easy_vqa(split: str, n: int | None = None) -> datasets.Dataset:
    import datasets

    qs = easyvqa.questions(split)[:n]
    images: dict[int, Image.Image] = {}
    rows: dict[str, list] = {
        "question_id": [], "image_id": [], "image": [], "question": [], "answers": [],
        "answer_type": [],
    }
    for q in qs:
        if q.image_id not in images:
            with Image.open(q.image_path) as im:
                images[q.image_id] = im.convert("RGB")
        rows["question_id"].append(q.question_id)
        rows["image_id"].append(q.image_id)
        rows["image"].append(images[q.image_id])
        rows["question"].append(q.question)
        rows["answers"].append([q.answer])
        rows["answer_type"].append(easyvqa.answer_type(q.answer))
    features = datasets.Features(
        {
            "question_id": datasets.Value("int64"),
            "image_id": datasets.Value("int64"),
            "image": datasets.Image(),
            "question": datasets.Value("string"),
            "answers": datasets.Sequence(datasets.Value("string")),
            "answer_type": datasets.Value("string"),
        }
    )
    return datasets.Dataset.from_dict(rows, features=features, split=split)


def build_fashion(split: str, n: int | None = None) -> datasets.Dataset:
    import datasets

    images, labels = fashion.arrays(split)
    images, labels = images[:n], labels[:n]
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=list(fashion.CLASS_NAMES))}
    )
    rows = {
        "image": [Image.fromarray(im, mode="L").convert("RGB") for im in images],
        "label": labels.tolist(),
    }
    return datasets.Dataset.from_dict(rows, features=features, split=split)
