"""Settings: YAML round trip, clear errors, thresholds, and the plugin's precedence
(defaults < YAML < pytest.ini < options)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchrun import run_bench

from vlmq.config import RunConfig
from vlmq.errors import VlmqError


def test_yaml_round_trip(tmp_path: Path) -> None:
    cfg = RunConfig(models=["vit-tiny"], variants=["fp32", "nf4+keep=vision:first,last"],
                    samples=7, thresholds={"nf4": 0.8, "int8:cider": 0.95})
    cfg.to_yaml(tmp_path / "run.yaml")
    assert RunConfig.from_yaml(tmp_path / "run.yaml") == cfg


def test_bad_settings_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("sampels: 3\n")
    with pytest.raises(VlmqError, match="unknown setting 'sampels'.*'samples'"):
        RunConfig.from_yaml(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("samples: many\n")
    with pytest.raises(VlmqError, match="samples: 'many' is not a whole number .expected a whole"):
        RunConfig.from_yaml(tmp_path / "b.yaml")
    with pytest.raises(VlmqError, match="does not exist"):
        RunConfig.from_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize("setting,error", [
    ("attn_implementation: [flash_attention_3]",
     "attn_implementation: 'flash_attention_3' .*expected sdpa, eager, flash_attention_2"),
    ("bnb_4bit_compute_dtype: int3", "expected auto, float32, bfloat16, float16"),
    ("gate: lenient", "expected significant, strict, point"),
    ("device: gpu", "expected cpu, cuda, cuda:N or auto"),
])
def test_allowed_values_come_from_their_owners(tmp_path: Path, setting: str, error: str) -> None:
    """Each list is the one its enforcing module holds: what validation accepts, loading runs."""
    (tmp_path / "a.yaml").write_text(setting + "\n")
    with pytest.raises(VlmqError, match=error):
        RunConfig.from_yaml(tmp_path / "a.yaml")


def test_threshold_lookup_order() -> None:
    cfg = RunConfig(thresholds={"int8:cider": 0.95, "int8": 0.96, "4": 0.8})
    assert cfg.threshold_for("int8", 8, "cider") == 0.95
    assert cfg.threshold_for("int8", 8, "bleu_4") == 0.96
    assert cfg.threshold_for("nf4", 4, "cider") == 0.8
    assert cfg.threshold_for("int8-text", 8, "cider") == 0.97  # the default for 8 bits
    assert cfg.threshold_for("bf16", 16, "top1") == 0.99


def test_plugin_precedence(tmp_path: Path) -> None:
    """A YAML file picks models, variants and tasks; an option overrides the YAML."""
    (tmp_path / "run.yaml").write_text(
        "models: [vit-tiny]\nvariants: [fp32, int8, nf4]\nsamples: 3\n")
    proc = run_bench("--collect-only", "--vlmq-config", str(tmp_path / "run.yaml"),
                     "--vlmq-variants", "fp32,nf4")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    ids = [line.split("[")[1].rstrip("]") for line in proc.stdout.splitlines() if "[" in line]
    assert ids == ["vit-tiny-fp32-classify", "vit-tiny-nf4-classify"]
