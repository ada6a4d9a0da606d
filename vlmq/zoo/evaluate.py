"""Measure a zoo checkpoint on the held-out test splits and write its model card.

`python -m vlmq.zoo.evaluate --model llava-tiny [--folder DIR] [--limit N] [--quant]`
loads the folder exactly as a hub model is loaded (`from_pretrained`), generates greedily with
the lmms-eval prompts, and scores: CIDEr-D for coco-scenes, VQA accuracy for text-signs (ten
answers) and easy-vqa (one answer), top-1 for fashion-mnist. With `--quant` the bitsandbytes
int8 and nf4 loads (lm_head / classifier kept in full precision) are scored as well.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch

from vlmq.zoo import ZOO, card, quality
from vlmq.zoo.trainset import VQA_SUFFIX

_BATCH = 64
_MAX_NEW = {"coco-scenes": 40, "text-signs": 8, "easy-vqa": 8}


def _quant_config(kind: str | None, skip: list[str]):
    if kind is None:
        return None
    from transformers import BitsAndBytesConfig

    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    if kind == "int8":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=torch.float32,
        llm_int8_skip_modules=skip,
    )


def _rows(name: str, limit: int | None) -> Any:
    from vlmq.data.embedded import load_embedded

    ds = load_embedded(name, "test")
    return ds.select(range(min(limit, len(ds)))) if limit else ds


def generate_answers(model, processor, images: list, prompts: list[str], max_new: int) -> list[str]:
    """Greedy answers for (image, prompt) pairs, batched with left padding."""
    texts = [
        processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": p}]}],
            add_generation_prompt=True,
        )
        for p in prompts
    ]
    out: list[str] = []
    for i in range(0, len(texts), _BATCH):
        batch = processor(
            images=images[i : i + _BATCH], text=texts[i : i + _BATCH],
            return_tensors="pt", padding=True,
        )
        with torch.inference_mode():
            gen = model.generate(**batch, max_new_tokens=max_new, do_sample=False)
        new = gen[:, batch["input_ids"].shape[1] :]
        out.extend(t.strip() for t in processor.batch_decode(new, skip_special_tokens=True))
    return out


def evaluate_llava(folder: Path, limit: int | None = None, quant: str | None = None) -> dict:
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    processor = AutoProcessor.from_pretrained(folder)
    model = LlavaForConditionalGeneration.from_pretrained(
        folder, quantization_config=_quant_config(quant, ["lm_head"])
    ).eval()
    scores: dict[str, Any] = {}
    t0 = time.perf_counter()
    rows = _rows("coco-scenes", limit)
    preds = generate_answers(model, processor, list(rows["image"]),
                             list(rows["question"]), _MAX_NEW["coco-scenes"])
    scores["coco-scenes"] = {"cider_d": quality.cider_d(preds, rows["answer"]), "n": len(rows),
                             "example": preds[0]}
    for name, answers_col in (("text-signs", "answers"), ("easy-vqa", "answers")):
        rows = _rows(name, limit)
        prompts = [q + VQA_SUFFIX for q in rows["question"]]
        preds = generate_answers(model, processor, list(rows["image"]), prompts, _MAX_NEW[name])
        accs = [quality.vqa_accuracy(p, a) for p, a in zip(preds, rows[answers_col], strict=True)]
        scores[name] = {"accuracy": sum(accs) / len(accs), "n": len(rows), "example": preds[0]}
    scores["seconds"] = round(time.perf_counter() - t0, 1)
    return scores


def evaluate_vit(folder: Path, limit: int | None = None, quant: str | None = None) -> dict:
    from transformers import AutoImageProcessor, ViTForImageClassification

    processor = AutoImageProcessor.from_pretrained(folder)
    model = ViTForImageClassification.from_pretrained(
        folder, quantization_config=_quant_config(quant, ["classifier"])
    ).eval()
    rows = _rows("fashion-mnist", limit)
    t0 = time.perf_counter()
    correct = 0
    for i in range(0, len(rows), 500):
        chunk = rows[i : i + 500]
        inputs = processor(images=chunk["image"], return_tensors="pt")
        with torch.inference_mode():
            pred = model(**inputs).logits.argmax(-1)
        correct += int((pred == torch.tensor(chunk["label"])).sum())
    return {"fashion-mnist": {"top1": correct / len(rows), "n": len(rows)},
            "seconds": round(time.perf_counter() - t0, 1)}


def evaluate_and_card(folder: Path, name: str, limit: int | None = None,
                      quant: bool = False) -> dict:
    """Score the checkpoint (and optionally int8/nf4 loads), save quality.json, write the card."""
    run = evaluate_llava if name == "llava-tiny" else evaluate_vit
    result = {"limit": limit, "fp32": run(folder, limit)}
    if quant:
        for kind in ("int8", "nf4"):
            result[kind] = run(folder, limit, kind)
    (folder / "quality.json").write_text(json.dumps(result, indent=2) + "\n")
    card.write_card(folder)
    print(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m vlmq.zoo.evaluate", description=__doc__.split("\n")[0]
    )
    p.add_argument("--model", choices=tuple(ZOO), required=True)
    p.add_argument("--folder", type=Path, default=None)
    p.add_argument("--limit", type=int, default=None, help="first N test rows of each task")
    p.add_argument("--quant", action="store_true", help="also score the int8 and nf4 loads")
    args = p.parse_args(argv)
    evaluate_and_card(args.folder or ZOO[args.model], args.model, args.limit, args.quant)


if __name__ == "__main__":
    main()
