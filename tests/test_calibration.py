"""Calibrated variants: calibration data apart from evaluation, the checkpoint cache, the check
that quantized weights loaded, and the agreement of two runs. The real calibration (AutoRound on
llava-tiny) is in the slow test at the end."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch  # noqa: E402

# the calibrated recipes register on import (their entry points do the same once installed)
import vlmq.variants.autoround_w4a16  # noqa: E402, F401
import vlmq.variants.awq_w4a16  # noqa: E402, F401
import vlmq.variants.fp8_static  # noqa: E402, F401
from vlmq.calibration.cache import CacheKey, cached, store  # noqa: E402
from vlmq.calibration.data import (  # noqa: E402
    calibration_samples,
    calibration_specs,
    overlap,
    sample_key,
)
from vlmq.calibration.settings import POOL_ROWS, CalibrationSettings  # noqa: E402
from vlmq.errors import VlmqError  # noqa: E402
from vlmq.variants.base import VariantSettings  # noqa: E402
from vlmq.variants.grid import on_grid  # noqa: E402
from vlmq.variants.registry import VARIANTS  # noqa: E402

CALIBRATED = ("autoround-w4a16", "awq-w4a16", "fp8-static")


def _image_digests(data) -> dict[str, str]:
    """sample id (without source and split) -> sha256 of the image's encoded bytes."""
    rows = data.dataset.select_columns(["sample_id", "image"])
    return {str(r["sample_id"]): hashlib.sha256(r["image"]["bytes"]).hexdigest() for r in rows}


def test_calibration_ids_and_evaluated_ids_are_disjoint() -> None:
    """Apart by id and by image from the whole split that every evaluated subset is drawn from.
    The raw ids and the images are compared, not only `source@split#id`: a key that differs
    only in its split's name would hide a 'train' split holding the evaluated rows."""
    from vlmq.data.loading import load_task_dataset

    settings = CalibrationSettings(samples=9, seed=3)
    calibration = [s.sample_id for s in calibration_samples(settings)]
    assert len(calibration) == len(set(calibration)) == 9
    every_evaluated = []
    for task, spec in calibration_specs(settings):
        pool = load_task_dataset(spec, task.layout_kind, split="train", rows=POOL_ROWS)
        evaluated = load_task_dataset(task.default_dataset, task.layout_kind)
        prefix = sample_key(pool.source, pool.split, "")
        raw = [i.removeprefix(prefix) for i in calibration if i.startswith(prefix)]
        assert raw and evaluated.split == "test"
        pool_images, evaluated_images = _image_digests(pool), _image_digests(evaluated)
        assert not overlap(raw, evaluated_images), task.name
        assert not overlap([pool_images[i] for i in raw], evaluated_images.values()), task.name
        every_evaluated += [sample_key(evaluated.source, evaluated.split, i)
                            for i in evaluated_images]
    assert not overlap(calibration, every_evaluated)
    # the check itself finds a shared id
    assert overlap(calibration, [*every_evaluated, calibration[0]]) == {calibration[0]}


def test_a_test_split_and_an_unknown_task_are_refused() -> None:
    with pytest.raises(VlmqError, match="test split"):
        calibration_samples(CalibrationSettings(sources=(("vqa", "easy-vqa@test"),), samples=1))
    with pytest.raises(VlmqError, match="vqa"):
        calibration_samples(CalibrationSettings(sources=(("vqaa", "easy-vqa@train"),)))


def test_a_user_source_and_the_seed_choose_the_samples() -> None:
    named = CalibrationSettings(sources=(("vqa", "easy-vqa@validation"),), samples=3)
    ids = [s.sample_id for s in calibration_samples(named)]
    assert all(i.startswith("embedded:easy-vqa@validation#") for i in ids)
    assert ids == [s.sample_id for s in calibration_samples(named)]
    assert ids != [s.sample_id for s in calibration_samples(replace(named, seed=1))]


def test_the_cache_key_changes_with_each_part() -> None:
    key = CacheKey("m" * 64, {"scheme": "W4A16"}, ("a", "b"), {"auto-round": "0.16.1"})
    others = [replace(key, model_hash="n" * 64), replace(key, recipe={"scheme": "W8A16"}),
              replace(key, calibration_ids=("a", "c")), replace(key, versions={"auto-round": "1"})]
    assert len({key.digest(), *(k.digest() for k in others)}) == 5


def test_fp8_static_keys_apart_from_its_bf16_checkpoints() -> None:
    """fp8-static tunes in the model's dtype now: a checkpoint cached from AutoRound's bf16
    default (other scales in the export) must not be reused; the other recipes keep their keys."""
    from vlmq.models.llava import ADAPTER

    settings = VariantSettings()
    fp8 = VARIANTS.get("fp8-static")
    assert fp8.recipe(settings, ADAPTER) != replace(fp8, amp=True).recipe(settings, ADAPTER)
    w4 = VARIANTS.get("autoround-w4a16")
    assert "amp" not in w4.recipe(settings, ADAPTER)


def test_a_second_prepare_reuses_the_cached_checkpoint(tmp_path: Path, monkeypatch) -> None:
    from vlmq.models.llava import ADAPTER
    from vlmq.variants.calibrated import Calibrated
    from vlmq.zoo import ZOO

    monkeypatch.setattr("vlmq.calibration.cache.cache_home", lambda: tmp_path)
    calls = []

    def fake_calibrate(self, source, adapter, samples, recipe, out) -> float:
        calls.append(len(samples))
        (out / "config.json").write_text("{}")
        return 12.5

    monkeypatch.setattr(Calibrated, "_calibrate", fake_calibrate)
    variant = VARIANTS.get("autoround-w4a16")
    settings = VariantSettings(calibration=CalibrationSettings(samples=3))
    first = variant.before_load(str(ZOO["llava-tiny"]), ADAPTER, settings)
    second = variant.before_load(str(ZOO["llava-tiny"]), ADAPTER, settings)
    assert calls == [3] and first.calibration_s == 12.5 and second.calibration_s == 0.0
    assert "calibration time 0" in second.notes["calibration"] and first.folder == second.folder
    meta = cached(Path(first.folder))
    assert meta and len(meta["calibration_ids"]) == 3 and meta["recipe"]["iters"] == 20
    # other iterations are another checkpoint
    third = variant.before_load(str(ZOO["llava-tiny"]), ADAPTER, replace(
        settings, calibration=replace(settings.calibration, iters=2)))
    assert third.folder != first.folder and calls == [3, 3]


def test_store_leaves_no_folder_when_calibration_fails(tmp_path: Path) -> None:
    key = CacheKey("m", {}, (), {})
    folder = tmp_path / "x"

    def broken(out: Path) -> float:
        raise RuntimeError("calibration crashed")

    with pytest.raises(RuntimeError):
        store(folder, key, broken)
    assert not folder.exists() and list(tmp_path.iterdir()) == []


def test_quantized_values_are_recognized() -> None:
    g = torch.Generator().manual_seed(0)
    dense = torch.randn(4, 256, generator=g)
    levels = torch.arange(-8, 8, dtype=torch.float32)
    int4 = levels[torch.randint(0, 16, (4, 256), generator=g)] * torch.tensor([0.01, 0.03]) \
        .repeat_interleave(128)
    fp8 = (dense * 50).to(torch.float8_e4m3fn).float() * 0.0123
    int4_args = {"type": "int", "num_bits": 4, "strategy": "group", "group_size": 128}
    fp8_args = {"type": "float", "num_bits": 8, "strategy": "channel"}
    assert on_grid(int4, int4_args) and not on_grid(dense, int4_args)
    assert on_grid(fp8, fp8_args) and not on_grid(dense, fp8_args)
    assert on_grid(fp8.bfloat16(), fp8_args)  # AutoRound's bf16 copies stay on the grid


def test_as_saved_refuses_weights_that_did_not_load() -> None:
    as_saved = VARIANTS.get("as-saved")
    problem = as_saved.loading_problem("as-saved", {
        "missing_keys": {"model.language_model.layers.0.self_attn.q_proj.weight"},
        "mismatched_keys": []})
    assert problem and "\n" not in problem and "did not load" in problem
    assert as_saved.loading_problem("as-saved", {"missing_keys": set()}) is None
    zero = {"text": {"linear": 28, "quantized": 0}}
    assert "no Linear layer loaded quantized" in as_saved.check_counts("as-saved", zero)


def test_calibrated_recipes_are_registered_with_their_facts() -> None:
    for name in CALIBRATED:
        variant = VARIANTS.get(name)
        assert variant.quantizes == ("text",) and not variant.by_default
        assert "dequantized" in variant.kernel("cpu")
    fp8 = VARIANTS.get("fp8-static")
    assert fp8.bits == 8 and "fp8" in fp8.kernel("cpu")


def test_agreement_counts_identical_outputs(tmp_path: Path) -> None:
    from vlmq.results.agreement import agreement
    from vlmq.results.schema import SampleRecord
    from vlmq.results.store import RunStore

    def run(run_id: str, model: str, variant: str, answers: list[str]) -> str:
        store_ = RunStore(tmp_path, run_id)
        store_.write_config({})
        store_.append(model, variant, "vqa", [
            SampleRecord(sample_id=str(i), index=i, batch=0, prompt="q", prediction=a,
                         references=["x"], latency_s=0.1) for i, a in enumerate(answers)])
        return f"{store_.root}:{model}:{variant}"

    answers = ["red"] * 100
    a = run("a", "llava-tiny", "autoround-w4a16", answers)
    b = run("b", "/ckpt", "as-saved", answers[:99] + ["blue"])
    (row,) = agreement(a, b, ["vqa"])
    assert (row.samples, row.identical, row.differing, row.agrees) == (100, 99, ["99"], True)
    c = run("c", "/ckpt", "as-saved", answers[:98] + ["blue", "blue"])
    assert not agreement(a, c, ["vqa"])[0].agrees
    with pytest.raises(VlmqError, match="RUN_DIR:MODEL:VARIANT"):
        agreement("nothing", c, ["vqa"])
    assert json.dumps(row.rate)


@pytest.mark.slow
def test_calibrated_checkpoint_round_trip_and_a_broken_export_is_refused(
        tmp_path: Path, monkeypatch) -> None:
    """AutoRound on llava-tiny (2 samples, 1 iteration): the in-process variant and its exported
    checkpoint through as-saved quantize the same 28 text layers and answer alike; the same
    export with one layer's packed weights removed is refused with one line."""
    import shutil

    from safetensors.torch import load_file, save_file

    from vlmq.loading import load_variant

    monkeypatch.setattr("vlmq.calibration.cache.cache_home", lambda: tmp_path)
    settings = VariantSettings(calibration=CalibrationSettings(samples=2, iters=1))
    images = [s.image for s in calibration_samples(CalibrationSettings(samples=4, seed=9))]
    prompts = ["Provide a one-sentence caption for the provided image."] * len(images)
    calibrated = load_variant("llava-tiny", "autoround-w4a16", settings=settings)
    assert calibrated.calibration_s > 0 and calibrated.notes["kernel"]
    folder = Path(calibrated.notes["calibration"].rpartition("cached in ")[2])
    saved = load_variant(str(folder), "as-saved")
    for loaded in (calibrated, saved):
        assert loaded.quantized_linears["text"] == {"linear": 28, "quantized": 28}
        assert sum(c["quantized"] for p, c in loaded.quantized_linears.items() if p != "text") == 0
    in_process = calibrated.generate(images, prompts, 12).texts
    assert in_process == saved.generate(images, prompts, 12).texts
    again = load_variant("llava-tiny", "autoround-w4a16", settings=settings)
    assert again.calibration_s == 0.0

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    weights = load_file(str(broken / "model.safetensors"))
    dropped = [k for k in weights if "layers.0.self_attn.q_proj.weight_" in k and "vision" not in k]
    assert dropped
    save_file({k: v for k, v in weights.items() if k not in dropped},
              str(broken / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(VlmqError, match="did not load") as refused:
        load_variant(str(broken), "as-saved")
    assert "\n" not in str(refused.value)


def test_fewer_calibration_samples_than_tasks_are_that_many() -> None:
    # 2 samples over 3 tasks: the third task's share is 0, which must not mean "all its rows"
    assert len(calibration_samples(CalibrationSettings(samples=2))) == 2


@pytest.mark.slow
def test_fp8_static_runs_on_exactly_the_values_its_export_holds(
        tmp_path: Path, monkeypatch) -> None:
    """fp8-static in process and its compressed-tensors export through as-saved: the same
    quantized weights and static input scales, bit for bit, hence the same logits. With
    AutoRound's bf16 default the export held bf16-rounded scales that the in-process variant
    never ran on (2 of 192 greedy outputs differed on llava-tiny)."""
    from vlmq.loading import load_variant
    from vlmq.variants.act_quant import INPUT_SCALE_MARK
    from vlmq.variants.calibrated import CALIBRATED_MARK

    monkeypatch.setattr("vlmq.calibration.cache.cache_home", lambda: tmp_path)
    settings = VariantSettings(calibration=CalibrationSettings(samples=2))
    calibrated = load_variant("llava-tiny", "fp8-static", settings=settings)
    folder = Path(calibrated.notes["calibration"].rpartition("cached in ")[2])
    saved = load_variant(str(folder), "as-saved")
    saved_modules = dict(saved.model.named_modules())
    compared = 0
    for name, module in calibrated.model.named_modules():
        if getattr(module, CALIBRATED_MARK, ""):
            other = saved_modules[name]
            assert torch.equal(module.weight, other.weight), name
            assert getattr(module, INPUT_SCALE_MARK) == getattr(other, INPUT_SCALE_MARK), name
            compared += 1
    assert compared == 28
    images = [s.image for s in calibration_samples(CalibrationSettings(samples=3, seed=9))]
    prompts = ["Provide a one-sentence caption for the provided image."] * len(images)
    inputs = calibrated.adapter.prepare(calibrated.processor, images, prompts)
    with torch.no_grad():
        logits = [loaded.model(**inputs).logits for loaded in (calibrated, saved)]
    assert torch.equal(*logits)


def test_awq_without_layer_mappings_for_the_model_is_a_skip_with_the_reason(
        monkeypatch, tmp_path: Path) -> None:
    """AutoRound's AWQ has no mappings for BLIP's post-norm BERT decoder: the variant cannot
    run on that model, a skip naming it, not a failed benchmark."""
    import auto_round

    from vlmq.calibration.autoround import run_autoround
    from vlmq.errors import UnavailableError

    class NoMappings:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def quantize(self):
            raise ValueError("AWQ: no layer mappings were resolved for this model.")

    monkeypatch.setattr(auto_round, "AutoRound", NoMappings)
    batches = [{"input_ids": torch.zeros(1, 4, dtype=torch.long)}]
    processor = type("P", (), {"tokenizer": None})()
    with pytest.raises(UnavailableError, match="no layer mappings for Linear"):
        run_autoround(torch.nn.Linear(2, 2), processor, batches, scheme="W4A16",
                      algorithm="awq", iters=0, seed=0, out=tmp_path,
                      in_process_file=tmp_path / "in-process.safetensors")


def test_a_grouped_scheme_on_layers_not_a_multiple_of_its_group_is_a_skip() -> None:
    """SmolVLM-256M's text model is 576 wide: W4A16's groups of 128 cannot pack it (AutoRound's
    export failed on it at real size); per-tensor schemes have no such limit."""
    from vlmq.errors import UnavailableError

    model = torch.nn.Module()
    model.text = torch.nn.ModuleDict({"q": torch.nn.Linear(576, 576),
                                      "down": torch.nn.Linear(1536, 576)})
    parts = {"text": ["text"]}
    with pytest.raises(UnavailableError, match=r"1 of the 2 Linear .* text.q, 576"):
        VARIANTS.get("awq-w4a16").unsupported_layers(model, parts, "cpu")
    assert VARIANTS.get("fp8-static").unsupported_layers(model, parts, "cpu") == []
    model.text["q"] = torch.nn.Linear(512, 576)
    assert VARIANTS.get("autoround-w4a16").unsupported_layers(model, parts, "cpu") == []


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc maps")
def test_calibrated_weights_are_read_one_at_a_time_without_mapping_the_file(
        tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from vlmq.variants.calibrated import IN_PROCESS_FILE, in_process_tensors

    saved = {"a.weight": torch.randn(4, 8), "b.weight": torch.randn(16, 4)}
    path = tmp_path / IN_PROCESS_FILE
    path.parent.mkdir()
    save_file(saved, str(path))
    tensors = in_process_tensors(tmp_path)
    first, tensor = next(tensors)
    # a memory-mapped read would keep every page it touched resident while the file is open
    assert str(path) not in Path("/proc/self/maps").read_text()
    got = {first: tensor, **dict(tensors)}
    assert got.keys() == saved.keys()
    assert all(torch.equal(got[k], saved[k]) for k in saved)
