"""Synthetic runs for the results/report/compare tests: realistic shapes, seeded noise.

`make_results(seed)` gives TaskResults of two models x four variants x one task each, as the
evaluation loop writes them; two seeds give two runs "of the same code" (same per-sample scores
up to a few flips, latency rounds redrawn, small memory/energy noise). `degrade` lowers one
variant's quality on purpose.
"""

from __future__ import annotations

import json
import statistics
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.results.store import RunStore

MODELS = {  # model -> (task, quality metrics, samples, fp32 batch latency s)
    "HuggingFaceM4/tiny-llava": ("caption", ("cider", "bleu4"), 48, 0.80),
    "vit-tiny": ("classify", ("top1",), 64, 0.05),
}
VARIANTS = {  # variant -> (latency factor, quality factor, size factor)
    "fp32": (1.0, 1.0, 1.0),
    "bf16": (1.6, 0.995, 0.5),
    "int8": (2.5, 0.98, 0.3),
    "nf4": (1.9, 0.93, 0.2),
}
BATCH = 8


def base_scores(model: str, metric: str, n: int) -> np.ndarray:
    """The fp32 per-sample scores: fixed per (model, metric), like a deterministic model."""
    rng = np.random.default_rng(zlib.crc32(f'{model}:{metric}'.encode()))
    if metric == "top1":
        return (rng.random(n) < 0.7).astype(float)
    return rng.gamma(2.0, 0.4, n) if metric == "cider" else rng.beta(2, 5, n)


def make_results(seed: int, degrade: tuple[str, str, str, float] | None = None,
                 slow: tuple[str, str, float] | None = None,
                 run_id: str = "run") -> list[TaskResult]:
    """TaskResults of one synthetic run; degrade=(model, variant, metric, factor) scales
    that quality metric on most samples, slow=(model, variant, factor) its latency."""
    rng = np.random.default_rng(seed)
    out = []
    for model, (task, qnames, n, lat) in MODELS.items():
        base_q = {q: base_scores(model, q, n) for q in qnames}
        for variant, (lat_f, q_f, size_f) in VARIANTS.items():
            r = TaskResult(info={"model": model, "variant": variant, "task": task,
                                 "dataset": f"{task}-tiny", "device": "cpu", "baseline": "fp32",
                                 "run_id": run_id, "samples": n})
            vrng = np.random.default_rng(zlib.crc32(f'{model}:{variant}'.encode()))
            for q in qnames:
                scores = base_q[q] * (q_f if variant != "fp32" else 1.0)
                if q == "top1" and variant != "fp32":  # flip a fixed few answers
                    flips = vrng.random(n) < (1 - q_f) * 2
                    scores = np.where(flips, 1 - base_q[q], base_q[q])
                # same code, another run: a couple of samples differ (nondeterministic kernels)
                jitter = rng.random(n) < 0.03
                scores = np.where(jitter, scores * rng.uniform(0.9, 1.1, n), scores)
                if degrade and degrade[:3] == (model, variant, q):
                    drop = rng.random(n) < 0.6
                    scores = np.where(drop, scores * degrade[3], scores)
                r.per_sample[q] = [float(s) for s in scores]
                r.add(q, float(np.mean(scores)), "", True, "quality")
            rounds = lat * lat_f * rng.lognormal(0, 0.04, n // BATCH)
            if slow and slow[:2] == (model, variant):
                rounds = rounds * slow[2]
            r.rounds_s = [float(x) for x in rounds]
            p50 = float(np.median(rounds)) / BATCH * 1000
            r.add("latency_p50_ms", p50, "ms/sample", False, "latency")
            r.add("latency_p95_ms", float(np.quantile(rounds, 0.95)) / BATCH * 1000,
                  "ms/sample", False, "latency")
            r.add("throughput", BATCH / float(np.median(rounds)), "samples/s", True, "throughput")
            r.add("peak_memory_mb", 900 * (0.4 + 0.6 * size_f) * rng.normal(1, 0.002),
                  "MB", False, "memory")
            r.add("model_size_mb", 600 * size_f, "MB", False, "size")
            r.add("energy_per_sample_j", p50 / 1000 * 28 * rng.normal(1, 0.02), "J", False,
                  "energy")
            r.add("load_time_s", 3.0 * rng.normal(1, 0.03), "s", False, "time")
            out.append(r)
    for r in out:  # retention and gates against the baseline of the same model
        base = next(b for b in out if b.info["model"] == r.info["model"]
                    and b.info["variant"] == "fp32")
        if r is base:
            continue
        for q in base.per_sample:
            r.retention[q] = r.metrics[q].value / base.metrics[q].value
            r.thresholds[q] = 0.99 if r.info["variant"] == "bf16" else 0.90
    return out


def write_run(reports: Path, seed: int, run_id: str, **kw: Any) -> RunStore:
    """A complete run folder: config, machine, subsets, records, results, a skip, a structure."""
    store = RunStore(reports, run_id)
    store.write_config({"models": list(MODELS), "variants": list(VARIANTS), "samples": 64,
                        "seed": seed, "device": "cpu", "baseline": "fp32", "batch_size": BATCH})
    store.write_machine({"cpu": "synthetic 2-core", "python": "3.11", "torch": "2.13.0"})
    results = make_results(seed, run_id=run_id, **kw)
    for r in results:
        m, v, t = r.info["model"], r.info["variant"], r.info["task"]
        store.write_subset(t, list(range(r.info["samples"])))
        q = next(iter(r.per_sample))
        base = next(b for b in results if b.info["model"] == m and b.info["variant"] == "fp32")
        store.append(m, v, t, [
            SampleRecord(sample_id=f"{t}-{i}", index=i, batch=i // BATCH, prompt="Describe.",
                         prediction=_prediction(v, i, s, base.per_sample[q][i]),
                         references=[f"ref {i}"],
                         latency_s=r.rounds_s[min(i // BATCH, len(r.rounds_s) - 1)] / BATCH,
                         scores={q: s}) for i, s in enumerate(r.per_sample[q])])
        store.write_result(r)
        store.mark_finished(m, v, t)
        store.write_structure(m, v, f"{m} {v}\n  Linear(...)\n")
    store.write_skip("vit-tiny", "int8-cuda", None, "variant 'int8-cuda' runs on cuda only")
    return store


def _prediction(variant: str, i: int, score: float, base_score: float) -> str:
    """The baseline's text where the variant scored (nearly) the same, its own text otherwise,
    so a run has samples on which the variants agree and samples on which they do not."""
    return f"a caption {i}" if abs(score - base_score) <= 0.01 * abs(base_score) else \
        f"a {variant} caption {i}"


def benchmark_json(results: list[TaskResult], save_data: bool = True) -> dict[str, Any]:
    """The document pytest-benchmark 5.3 writes with --benchmark-json, one entry per result."""
    benches = []
    for r in results:
        data = r.rounds_s
        q1, _, q3 = statistics.quantiles(data, n=4) if len(data) > 1 else (data[0],) * 3
        stats = {"min": min(data), "max": max(data), "mean": statistics.mean(data),
                 "stddev": statistics.stdev(data) if len(data) > 1 else 0.0,
                 "rounds": len(data), "median": statistics.median(data), "iqr": q3 - q1,
                 "q1": q1, "q3": q3, "iqr_outliers": 0, "stddev_outliers": 0, "outliers": "0;0",
                 "ld15iqr": min(data), "hd15iqr": max(data), "ops": 1 / statistics.mean(data),
                 "total": sum(data), "iterations": 1}
        if save_data:
            stats["data"] = list(data)
        param = f"{r.info['model']}-{r.info['variant']}-{r.info['task']}"
        benches.append({
            "group": r.info["task"], "name": f"test_{r.info['task']}[{param}]",
            "fullname": f"benchmarks/test_{r.info['task']}.py::test_{r.info['task']}[{param}]",
            "params": {"variant": r.info["variant"], "model": r.info["model"]},
            "param": param, "extra_info": r.to_extra_info(), "options": {
                "disable_gc": False, "timer": "perf_counter", "min_rounds": 5,
                "max_time": 1.0, "min_time": 5e-06, "warmup": False},
            "stats": stats})
    return {"machine_info": {"node": "ci", "processor": "x86_64", "machine": "x86_64",
                             "python_implementation": "CPython", "python_version": "3.11.9",
                             "system": "Linux", "release": "6.1", "cpu": {"count": 2}},
            "commit_info": {"id": "0" * 40, "time": "2026-01-01T00:00:00+00:00",
                            "author_time": "2026-01-01T00:00:00+00:00", "dirty": False,
                            "project": "vlmq", "branch": "main"},
            "benchmarks": benches, "datetime": "2026-01-01T00:00:00.000000+00:00",
            "version": "5.3.1"}


def write_benchmark_json(path: Path, results: list[TaskResult], save_data: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(benchmark_json(results, save_data), indent=1))
    return path
