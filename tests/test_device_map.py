"""Models spread over devices with accelerate's device maps (--vlmq-device-map).

This machine has one device (the CPU), so a forced small --vlmq-max-memory makes accelerate
offload most of llava-tiny to disk: the spread model must generate exactly the text the
single-device model does, report its bytes per device, and variants that cannot be spread skip
with the reason.
"""

from __future__ import annotations

import pytest

from vlmq.data.images import decode_image
from vlmq.data.loading import load_task_dataset
from vlmq.errors import UnavailableError, VlmqError
from vlmq.loading import load_variant, unload
from vlmq.placement import Placement, max_memory_map


@pytest.fixture(scope="module")
def captions() -> tuple[list, list[str]]:
    data = load_task_dataset("coco-scenes", "caption")
    rows = [data.dataset[i] for i in range(3)]
    images = [decode_image(r["image"], str(r["sample_id"]), data.image_root) for r in rows]
    return images, ["Provide a one-sentence caption for the provided image."] * 3


def test_offloaded_model_generates_the_same_text(captions: tuple[list, list[str]]) -> None:
    images, prompts = captions
    whole = load_variant("llava-tiny", "fp32", device="cpu", measure_disk=False)
    expected = whole.generate(images, prompts, 12).texts
    unload(whole)
    spread = load_variant("llava-tiny", "fp32", device="cpu", device_map="auto",
                          max_memory={"cpu": "6MB"})
    try:
        assert set(spread.model.hf_device_map.values()) == {"cpu", "disk"}
        assert "disk:" in spread.notes["device_map"] and "cpu:" in spread.notes["device_map"]
        assert spread.generate(images, prompts, 12).texts == expected
        assert any(t.strip() for t in expected)
    finally:
        unload(spread)


def test_variant_that_cannot_spread_skips_with_the_reason() -> None:
    with pytest.raises(UnavailableError, match="cannot be spread"):
        load_variant("llava-tiny", "torchao-int8", device="cpu", device_map="auto")


def test_bad_placement_settings_fail_before_loading() -> None:
    with pytest.raises(VlmqError, match="expected one of auto"):
        Placement("cpu", "everywhere")
    with pytest.raises(VlmqError, match="expected a size"):
        max_memory_map({"0": "lots"})
    with pytest.raises(VlmqError, match="GPU index"):
        max_memory_map({"tpu": "1GB"})
    assert max_memory_map({"cuda:1": "30GiB", "0": "2GB", "cpu": "1MB"}) == {
        1: "30GiB", 0: "2GB", "cpu": "1MB"}
