"""benchmarks/test_overhead.py end to end on a tiny random LLaVA: the harness against a bare
transformers loop in one process, for the whole call and for the decode step, in the run's
generation mode."""

from __future__ import annotations

import json
from pathlib import Path

from benchrun import run_bench


def _overhead(tmp: Path, model: str, *args: str) -> dict:
    out = tmp / "out.json"
    proc = run_bench(f"--benchmark-json={out}", "--vlmq-reports-dir", str(tmp / "runs"),
                     "--vlmq-model", model, "--vlmq-variants", "fp32", "--vlmq-tasks",
                     "caption", "--vlmq-samples", "2", "--vlmq-batch-size", "1",
                     "--vlmq-max-new-tokens", "4", *args, target="benchmarks/test_overhead.py")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (bench,) = json.loads(out.read_text())["benchmarks"]
    return bench["extra_info"]["overhead"]


def test_decode_step_is_compared_with_a_bare_loop_in_the_runs_mode(tiny_llava: str,
                                                                    tmp_path: Path) -> None:
    # 12 tokens: enough steps that a bare step stands out of the timing noise
    got = _overhead(tmp_path, tiny_llava, "--vlmq-generation", "static",
                    "--vlmq-max-new-tokens", "12")
    assert got["generation"] == "static" and got["max_new_tokens"] == 12
    for key in ("bare_step_median_ms", "harness_step_median_ms", "harness_step_mean_ms"):
        assert got[key] > 0, key
    step = got["ratio_decode_step_paired"]
    if step is None:  # a busy machine: a bare 12-token call came out no slower than 1 token
        assert "below the machine's timing noise" in got["decode_step_note"]
        return
    assert step["target"] == [0.95, 1.05]
    assert step["verdict"] in {"within", "outside", "undecided"}
    assert step["low"] <= step["value"] <= step["high"]
    # both paths decode the same 12 tokens of the same batches: far from equal only if one did
    # other work (a dynamic cache against a static one, stopping at end-of-sequence)
    assert 0.25 < step["value"] < 4
    assert got["ratio_model_paired"]["target"] == 1.02


def test_one_new_token_has_no_decode_step_to_compare(tiny_llava: str, tmp_path: Path) -> None:
    got = _overhead(tmp_path, tiny_llava, "--vlmq-max-new-tokens", "1")
    assert "ratio_decode_step_paired" not in got and got["ratio_model"] > 0
