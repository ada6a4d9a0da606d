"""A few training steps of each zoo model into a temporary folder, then a plain reload."""

from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from vlmq.data.embedded import scenes  # noqa: E402
from vlmq.errors import VlmqError  # noqa: E402
from vlmq.zoo import ZOO, build, train, zoo_path  # noqa: E402


def _bnb_widths_ok(model: torch.nn.Module, skip: tuple[str, ...]) -> None:
    for name, mod in model.named_modules():
        if isinstance(mod, torch.nn.Linear) and not name.endswith(skip):
            assert mod.in_features % 64 == 0 and mod.out_features % 64 == 0, name


def test_llava_trains_saves_and_reloads(tmp_path) -> None:
    train.main(["--model", "llava-tiny", "--device", "cpu", "--steps", "2", "--scale", "0.0003",
                "--batch-size", "4", "--out", str(tmp_path), "--no-eval"])
    folder = tmp_path / "llava-tiny"
    info = json.loads((folder / "training_info.json").read_text())
    assert info["steps"] == 2 and info["seed"] == train.SEED
    processor = transformers.AutoProcessor.from_pretrained(folder)
    model = transformers.LlavaForConditionalGeneration.from_pretrained(folder).eval()
    assert model.config.text_config.vocab_size % 64 == 0
    _bnb_widths_ok(model, ("lm_head",))
    conv = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Q?"}]}]
    prompt = processor.apply_chat_template(conv, add_generation_prompt=True)
    assert prompt == "USER: <image>\nQ?\nASSISTANT:"
    images = [scenes.sample(5, i)["image"] for i in range(2)]
    batch = processor(images=images, text=[prompt, prompt + " longer"], return_tensors="pt",
                      padding=True)
    assert (batch["input_ids"] == build.IMAGE_ID).sum(1).tolist() == [build.IMAGE_TOKENS] * 2
    assert batch["attention_mask"][0, 0] == 0  # left padding for generation
    out = model.generate(**batch, max_new_tokens=3)
    assert out.shape[0] == 2


def test_vit_trains_saves_and_reloads(tmp_path, fashion_mnist) -> None:
    train.main(["--model", "vit-tiny", "--device", "cpu", "--steps", "2", "--scale", "0.002",
                "--batch-size", "16", "--out", str(tmp_path), "--no-eval"])
    folder = tmp_path / "vit-tiny"
    model = transformers.ViTForImageClassification.from_pretrained(folder).eval()
    processor = transformers.AutoImageProcessor.from_pretrained(folder)
    assert model.config.id2label[0] == "T-shirt/top"
    _bnb_widths_ok(model, ("classifier",))
    inputs = processor(images=[scenes.sample(5, 0)["image"].resize((28, 28))], return_tensors="pt")
    assert model(**inputs).logits.shape == (1, 10)


def test_zoo_paths() -> None:
    assert set(ZOO) == {"llava-tiny", "vit-tiny"}
    with pytest.raises(VlmqError, match="vit-tiny"):
        zoo_path("vit-small")
    for name in ZOO:
        assert (zoo_path(name) / "model.safetensors").exists()
