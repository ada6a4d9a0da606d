"""`as-saved`: a checkpoint written already quantized loads with the quantization_config in its
config.json, counts and sizes correctly, and is gated against a separate baseline model.

The checkpoints are made here: vit-tiny quantized by bitsandbytes (int8, nf4) and written with
save_pretrained. GPTQ, AWQ and compressed-tensors checkpoints need their quantizers
(gptqmodel, autoawq, llm-compressor) and calibration on a GPU, so none is made offline here.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from vlmq.config import RunConfig
from vlmq.errors import UnavailableError
from vlmq.loading import load_variant, unload
from vlmq.session import BenchmarkSession, Case
from vlmq.variants.as_saved import saved_bits
from vlmq.zoo import ZOO

logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module", params=["int8", "nf4"])
def saved(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[str, object]:
    """(folder, the model as quantized before saving): vit-tiny quantized, then saved."""
    pytest.importorskip("bitsandbytes")
    original = load_variant("vit-tiny", request.param, device="cpu", measure_disk=False)
    folder = tmp_path_factory.mktemp(f"saved-{request.param}")
    original.model.save_pretrained(folder)
    shutil.copy(ZOO["vit-tiny"] / "preprocessor_config.json", folder)
    unload(original)
    return str(folder), original


def test_as_saved_counts_and_sizes_like_the_model_it_saved(saved: tuple[str, object]) -> None:
    folder, original = saved
    loaded = load_variant(folder, "as-saved", device="cpu")
    assert loaded.quantized_linears == original.quantized_linears
    assert loaded.quantized_linears["vision"]["quantized"] > 0
    assert loaded.quantized_linears["head"]["quantized"] == 0
    assert loaded.footprint_bytes == original.footprint_bytes
    assert loaded.bits == original.variant.bits
    weights = Path(folder, "model.safetensors").stat().st_size
    assert loaded.disk_bytes is not None and loaded.disk_bytes >= weights
    assert "as saved" in loaded.disk_note


def test_as_saved_refuses_a_full_precision_checkpoint() -> None:
    with pytest.raises(UnavailableError, match="no quantization_config"):
        load_variant("vit-tiny", "as-saved", device="cpu", measure_disk=False)


def test_saved_bits_reads_each_format() -> None:
    assert saved_bits({"quant_method": "gptq", "bits": 4}) == 4
    assert saved_bits({"quant_method": "awq", "bits": 4, "w_bit": 4}) == 4
    assert saved_bits({"quant_method": "bitsandbytes", "load_in_8bit": True}) == 8
    assert saved_bits({"quant_method": "quanto", "weights": "int4"}) == 4
    ct = {"quant_method": "compressed-tensors",
          "config_groups": {"group_0": {"weights": {"num_bits": 8, "type": "float"}}}}
    assert saved_bits(ct) == 8
    assert saved_bits({"quant_method": "unknown"}) == 0


def test_as_saved_is_gated_against_the_baseline_model(saved: tuple[str, object],
                                                      tmp_path: Path) -> None:
    if not FASHION.is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist (scripts/setup.sh installs it)")
    folder, _ = saved
    session = BenchmarkSession(RunConfig(
        models=[folder], variants=["as-saved"], baseline_model="vit-tiny", device="cpu",
        tasks=["classify"], samples=8, batch_size=4, energy=False,
        reports_dir=str(tmp_path), progress=False, report=False))
    assert session.cases() == [Case("vit-tiny", "fp32"), Case(folder, "as-saved")]
    case = session.cases()[1]
    session.ensure_baseline(case, [("classify", False)])
    loaded = session.load(case)
    try:
        result = session.run(loaded, case, "classify")
    finally:
        unload(loaded)
    assert result.info["baseline_model"] == "vit-tiny"
    assert result.info["bits"] in (4, 8)
    assert result.retention["top1"] > 0.8
    assert result.thresholds["top1"] == (0.97 if result.info["bits"] == 8 else 0.90)
