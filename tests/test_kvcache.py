"""The KV cache axis: options per setting, the cache's size per sample, the cases it adds."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from vlmq.config import RunConfig  # noqa: E402
from vlmq.errors import UnavailableError, VlmqError  # noqa: E402
from vlmq.kvcache import kv_cache_bytes, kv_cache_options  # noqa: E402
from vlmq.results.benchjson import benchmark_params  # noqa: E402
from vlmq.session.case import Case  # noqa: E402
from vlmq.session.plan import Planner  # noqa: E402

TEXT = SimpleNamespace(num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=4,
                       head_dim=64, hidden_size=256)


def test_options_per_setting() -> None:
    assert kv_cache_options("full", "static") == {}
    int2 = kv_cache_options("int2", "eager")
    assert int2["cache_implementation"] == "quantized" and int2["cache_config"]["nbits"] == 2
    with pytest.raises(UnavailableError, match="eager"):
        kv_cache_options("int4", "compiled")
    with pytest.raises(VlmqError, match="full, int4 or int2"):
        RunConfig(kv_cache=["int3"])


def test_cache_bytes_follow_the_layout() -> None:
    per_token = 2 * 4 * 4 * 64  # keys and values, 4 layers, 4 heads of 64
    full = kv_cache_bytes(TEXT, 100, 11, "full", 4)
    assert full == 110 * per_token * 4
    int4 = kv_cache_bytes(TEXT, 100, 11, "int4", 4)
    # 100 prompt tokens at 4 bits with a scale and a zero per 64 values, 10 decoded in fp32
    assert int4 == 100 * per_token / 2 + 100 * per_token / 64 * 2 * 4 + 10 * per_token * 4
    assert kv_cache_bytes(TEXT, 100, 11, "int2", 4) < int4 < full


def test_the_axis_multiplies_the_cases_and_keeps_a_full_baseline() -> None:
    config = RunConfig(models=["llava-tiny"], variants=["fp32", "nf4"], kv_cache=["int4", "int2"])
    cases = Planner(config, "fp32").all_cases()
    assert [c.variant_key for c in cases] == [
        "fp32", "fp32@kv-int4", "fp32@kv-int2", "nf4@kv-int4", "nf4@kv-int2"]
    assert Planner(config, "fp32").baseline_case(cases[-1]) == Case("llava-tiny", "fp32")
    assert benchmark_params("m", "nf4", "sdpa", "vqa", "int4")["kv_cache"] == "int4"
    assert "kv_cache" not in benchmark_params("m", "nf4", "sdpa", "vqa")


def test_the_baseline_variant_with_a_quantized_cache_is_judged() -> None:
    from vlmq.results.schema import TaskResult
    from vlmq.results.taskkey import TaskKey
    from vlmq.session.judge import Judge

    config = RunConfig(models=["llava-tiny"], variants=["fp32"], kv_cache=["full", "int4"])
    asked = []
    judge = Judge(config, Planner(config, "fp32"), None,
                  lambda case, key: asked.append(case) or None)
    full, int4 = TaskResult(info={}), TaskResult(info={})
    judge.judge(full, Case("llava-tiny", "fp32"), TaskKey.parse("vqa"))
    judge.judge(int4, Case("llava-tiny", "fp32", kv="int4"), TaskKey.parse("vqa"))
    assert asked == [Case("llava-tiny", "fp32")]  # the int4 case asked for the full baseline
    assert "retention" not in full.notes and "no baseline" in int4.notes["retention"]
