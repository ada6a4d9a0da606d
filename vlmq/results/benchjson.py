"""pytest-benchmark entries rebuilt from a run folder's stored results.

A result in the run folder holds everything its benchmark entry had: the timed rounds
(`rounds_s`) and the measurements (`to_extra_info()`). Rebuilding the entry with
pytest-benchmark's own `Metadata` and `Stats` gives JSON in exactly its format, wherever the
result was measured: by an xdist worker (the controller builds the run's one JSON from the
shared run folder) or by another shard (`vlmq merge`). Torch-free.
"""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from vlmq.results.schema import TaskResult
from vlmq.results.taskkey import TaskKey

BENCHMARK_FILE = "benchmarks/test_benchmark.py"
# the params every entry carries, so `pytest-benchmark compare --group-by=param:KEY` works for
# each of them on a whole JSON (it indexes every entry's params by KEY)
PARAM_KEYS = ("model", "variant", "attn", "task")
NOT_APPLICABLE = "-"


def test_id(result: TaskResult) -> str:
    """The pytest node id that measured `result`, or the one the shipped benchmark gives it."""
    info = result.info
    if info.get("test"):
        return str(info["test"])
    key = TaskKey.parse(str(info["task"]))
    func = "test_task_full" if key.full else "test_task"
    return f"{BENCHMARK_FILE}::{func}[{info['model']}-{info['variant']}-{key.task}]"


def benchmark_params(model: str, variant: str, attn: str, task: str,
                     kv_cache: str = "full") -> dict[str, str]:
    """A benchmark's params as pytest-benchmark writes them: one plain string each (so that
    `--benchmark-group-by=param:variant` works on the JSON); `task` is the task's name, also
    when given as a task key (`caption-full`); the KV cache only when not full."""
    params = {"model": model, "variant": variant, "attn": attn,
              "task": TaskKey.parse(task).task}
    return params if kv_cache == "full" else {**params, "kv_cache": kv_cache}


def params_of(result: TaskResult) -> dict[str, str]:
    info = result.info
    return benchmark_params(str(info["model"]),
                            str(info.get("base_variant") or info["variant"]),
                            str(info.get("attn_implementation") or "sdpa"), str(info["task"]),
                            str(info.get("kv_cache") or "full"))


def complete_params(benchmarks: list[dict[str, Any]]) -> None:
    """Give every entry of a --benchmark-json document every key of PARAM_KEYS: entries that are
    not one model x variant x task (the harness overhead, a sensitivity sweep) get the model
    they name (a sweep's `vlmq_sweep_model`) and '-' for the rest, instead of no params at all."""
    for bench in benchmarks:
        params = dict(bench.get("params") or {})
        if "vlmq_sweep_model" in params:
            params.setdefault("model", params["vlmq_sweep_model"])
        for key in PARAM_KEYS:
            params.setdefault(key, NOT_APPLICABLE)
        bench["params"] = params


def benchmark_entry(result: TaskResult, nodeid: str | None = None, note: str = "") -> Any:
    """A pytest-benchmark `Metadata` for `result` with its stored rounds, named `nodeid` (else
    `test_id(result)`); `note` lands in extra_info notes (where the entry was measured)."""
    from pytest_benchmark.stats import Metadata

    nodeid = nodeid or test_id(result)
    name = nodeid.rsplit("::", 1)[-1]
    extra = result.to_extra_info()
    if note:
        extra["notes"] = {**extra.get("notes", {}), "rebuilt": note}
    fixture = SimpleNamespace(
        name=name, fullname=nodeid, group=None, param=name.partition("[")[2].rstrip("]"),
        params=params_of(result), extra_info=extra, cprofile_stats=None, has_error=False,
    )
    meta = Metadata(fixture, iterations=1, options={"rebuilt_from": "vlmq run folder"})
    for duration in result.rounds_s:
        meta.stats.update(duration)
    return meta


def benchmark_document(results: list[TaskResult], machine_info: dict[str, Any],
                       commit_info: dict[str, Any] | None = None, note: str = ""
                       ) -> dict[str, Any]:
    """A whole --benchmark-json document (pytest-benchmark's layout) from stored results;
    results without timed rounds are left out, as pytest-benchmark leaves out unused fixtures."""
    from pytest_benchmark import __version__

    entries = [benchmark_entry(r, note=note) for r in results]
    return {
        "machine_info": machine_info,
        "commit_info": commit_info or {},
        "benchmarks": [e.as_dict(include_data=True) for e in entries if e],
        "datetime": datetime.now(timezone.utc).isoformat(),
        "version": __version__,
    }
