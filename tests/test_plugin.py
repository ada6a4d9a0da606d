"""The pytest plugin end to end: `pytest benchmarks/` in a subprocess, as a user runs it.

A tiny random LLaVA keeps these fast; what they check is the plumbing (JSON fields, skips,
counts, the lazily computed baseline), not quality. Quality gates are in test_gates.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchrun import run_bench as _run


def run_bench(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict | None]:
    """Run the benchmark suite; returns the process and its --benchmark-json (None if absent)."""
    out = tmp / "out.json"
    proc = _run(f"--benchmark-json={out}", "--vlmq-reports-dir", str(tmp / "runs"),
                "--vlmq-samples", "4", "--vlmq-batch-size", "2", "--vlmq-max-new-tokens", "3",
                *args, target="benchmarks/")
    data = json.loads(out.read_text()) if out.is_file() else None
    return proc, data


def entries(data: dict) -> dict[str, dict]:
    return {b["extra_info"]["vlmq"]["variant"] + "/" + b["extra_info"]["vlmq"]["task"]:
            b["extra_info"] for b in data["benchmarks"] if "vlmq" in b["extra_info"]}


def test_json_has_every_measurement_and_part_counts(tiny_llava: str, tmp_path: Path) -> None:
    proc, data = run_bench(tmp_path, "--vlmq-model", tiny_llava, "--vlmq-tasks", "vqa",
                           "--vlmq-variants", "fp32,int8-text,int8-vision",
                           "--vlmq-budget", "max_latency_ratio=1000")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the terminal summary opens with the decision matrix and, with a budget, the answer
    decision = proc.stdout.split("vlmq: decision", 1)[1]
    assert "vlmq decision:" in decision and "int8-vision" in decision
    assert "budget: max_latency_ratio 1000; ranked by memory" in decision
    assert "RECOMMENDED: " in decision or "NO VARIANT QUALIFIES" in decision
    got = entries(data)
    assert set(got) == {"fp32/vqa", "int8-text/vqa", "int8-vision/vqa"}
    for extra in got.values():
        metrics = extra["metrics"]
        for name in ("latency_p50_ms", "latency_p90_ms", "latency_p95_ms", "latency_p99_ms",
                     "throughput_samples_per_s", "throughput_tokens_per_s", "ttft_ms",
                     "ttft_p50_ms", "ttft_p90_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p90_ms",
                     "tpot_p99_ms", "decode_tokens_per_s", "e2e_latency_p50_ms",
                     "input_wait_mean_ms", "model_peak_memory_mib", "process_peak_rss_mib",
                     "footprint_mib", "load_time_s", "accuracy"):
            assert metrics[name]["value"] is not None, name
            assert "unit" in metrics[name] and "higher_is_better" in metrics[name]
        assert len(extra["rounds_s"]) == 2  # 4 samples in batches of 2
    for bench in (b for b in data["benchmarks"] if "vlmq" in b["extra_info"]):
        # pytest-benchmark's rounds time the model call alone: the same region the records
        # time, give or take a function call (records and fsync would add milliseconds)
        rounds = sorted(bench["extra_info"]["rounds_s"])
        assert bench["stats"]["min"] >= rounds[0]
        assert bench["stats"]["max"] - rounds[-1] < 0.05 * rounds[-1] + 0.005
        assert len(extra["per_sample"]["accuracy"]) == 4
    text, vision = got["int8-text/vqa"]["quantized_linears"], \
        got["int8-vision/vqa"]["quantized_linears"]
    assert text["text"]["quantized"] == text["text"]["linear"] > 0
    assert text["vision"]["quantized"] == 0 and text["projector"]["quantized"] == 0
    assert vision["vision"]["quantized"] == vision["vision"]["linear"] > 0
    assert vision["projector"]["quantized"] == vision["projector"]["linear"]
    assert vision["text"]["quantized"] == 0
    assert text["head"]["quantized"] == vision["head"]["quantized"] == 0
    assert "retention" in got["int8-text/vqa"] and got["fp32/vqa"]["retention"] == {}
    # params are plain strings, so pytest-benchmark's own reader groups by them
    assert "UNSERIALIZABLE" not in (tmp_path / "out.json").read_text()
    params = [b["params"] for b in data["benchmarks"]]
    assert {p["variant"] for p in params} == {"fp32", "int8-text", "int8-vision"}
    assert all(set(p) == {"model", "variant", "attn", "task"} for p in params)
    # pytest-benchmark's own `pytest-benchmark compare` (its cli module has no __main__)
    cmp = subprocess.run([sys.executable, "-c", "from pytest_benchmark.cli import main; main()",
                          "compare", "--group-by=param:variant", str(tmp_path / "out.json")],
                         capture_output=True, text=True)
    assert cmp.returncode == 0, cmp.stderr
    for variant in ("fp32", "int8-text", "int8-vision"):
        assert f"'variant={variant}'" in cmp.stdout, cmp.stdout


def test_deselected_baseline_is_computed_once_and_used(tiny_llava: str, tmp_path: Path) -> None:
    proc, data = run_bench(tmp_path, "--vlmq-model", tiny_llava, "--vlmq-tasks", "vqa",
                           "--vlmq-variants", "fp32,nf4", "-k", "nf4", "--vlmq-run-id", "r1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (extra,) = [b for b in data["benchmarks"] if "vlmq" in b["extra_info"]]
    assert extra["extra_info"]["vlmq"]["variant"] == "nf4"
    assert "accuracy" in extra["extra_info"]["retention"]
    base = tmp_path / "runs" / "r1" / "results"
    assert len(list(base.glob("*/fp32/vqa.json"))) == 1


def test_unavailable_variant_is_skipped_with_reason(tiny_llava: str, tmp_path: Path) -> None:
    proc, data = run_bench(tmp_path, "--vlmq-model", tiny_llava, "--vlmq-tasks", "vqa",
                           "--vlmq-variants", "fp32", "--vlmq-attn", "flash_attention_2")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "SKIPPED" in proc.stdout and "flash_attention_2 needs a CUDA GPU" in proc.stdout
    assert "passed" not in proc.stdout.splitlines()[-1]


def test_unknown_names_fail_with_one_line(tiny_llava: str, tmp_path: Path) -> None:
    proc, _ = run_bench(tmp_path, "--vlmq-model", tiny_llava, "--vlmq-variants", "int9")
    assert proc.returncode != 0
    assert "unknown variant 'int9'. Did you mean" in proc.stderr + proc.stdout
    proc, _ = run_bench(tmp_path, "--vlmq-model", "no/such-model-here")
    assert "must be reachable or given as a local path" in proc.stderr + proc.stdout
