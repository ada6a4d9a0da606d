"""Join the run folders of several shards (`--vlmq-shard K/N`) into one run: `vlmq merge`.

Each shard ran a deterministic part of the same case list with the same settings, so their
results fit together: the merge refuses shards whose result-changing settings or evaluated
subsets differ. Every model x variant x task is taken from one shard: the one whose own part
held it (its result names the test that ran it); a baseline that a shard computed only for
retention is used when no shard held it. Records, results, skips, structure dumps and
energy rows are copied; retention is checked against the merged baseline, and recomputed where
a shard's own baseline scored differently (another machine's kernels, for example). Torch-free.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from vlmq.errors import VlmqError
from vlmq.results.gates import bootstrap_settings, judge_against
from vlmq.results.schema import TaskResult
from vlmq.results.store import RESULT_SETTINGS, RunStore
from vlmq.results.taskkey import TaskKey
from vlmq.stats.timing import latency_ratio

Key = tuple[str, str, str]


def merge_runs(sources: list[str | Path], out: str | Path) -> RunStore:
    """Write the merged run into `out` (a new folder); returns its store."""
    if len(sources) < 2:
        raise VlmqError("merge needs at least two run folders (one per shard)")
    stores = [RunStore.open(s) for s in sources]
    out_path = Path(out)
    if out_path.exists() and any(out_path.iterdir()):
        raise VlmqError(f"--out {str(out_path)!r} exists and is not empty: merge into a new "
                        f"folder")
    configs = [s.read_config() for s in stores]
    _check_settings(stores, configs)
    merged = RunStore(out_path.parent, out_path.name)
    config = {**configs[0], "run_id": merged.run_id, "shard": "",
              "merged_from": [str(s.root) for s in stores]}
    merged.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    _merge_subsets(stores, merged)
    chosen = _choose_results(stores)
    for (model, variant, task), (store, result) in sorted(chosen.items()):
        _copy(store.records_path(model, variant, task), merged.records_path(model, variant, task))
        result.info["run_id"] = merged.run_id
        result.info["shard_run"] = store.run_id
        merged.write_result(result)
        if store.is_finished(model, variant, task):
            merged.mark_finished(model, variant, task)
    _rebase_retention(merged, config)
    _ratios_across_shards(merged, config, {s.run_id: s.read_machine() for s in stores})
    for store in stores:
        for skip in store.skips():
            if (skip["model"], skip["variant"], skip["task"]) not in chosen:
                merged.write_skip(skip["model"], skip["variant"], skip["task"], skip["reason"])
        for path in sorted((store.root / "structure").glob("*.txt")):
            _copy(path, merged.root / "structure" / path.name)
    _merge_machines(stores, merged)
    return merged


def _check_settings(stores: list[RunStore], configs: list[dict[str, Any]]) -> None:
    for store, cfg in zip(stores[1:], configs[1:], strict=True):
        changed = [k for k in RESULT_SETTINGS
                   if k != "shard" and configs[0].get(k) != cfg.get(k)]
        if changed:
            diffs = ", ".join(f"{k}: {configs[0].get(k)!r} vs {cfg.get(k)!r}" for k in changed)
            raise VlmqError(f"{store.root} was run with other settings than {stores[0].root} "
                            f"({diffs}); only shards of one run can be merged")


def _merge_subsets(stores: list[RunStore], merged: RunStore) -> None:
    subsets: dict[str, tuple[list[int], Path]] = {}
    for store in stores:
        for path in sorted((store.root / "subsets").glob("*.json")):
            indices = json.loads(path.read_text())
            if path.stem in subsets and subsets[path.stem][0] != indices:
                raise VlmqError(f"the {path.stem} subset of {store.root} differs from the one of "
                                f"{subsets[path.stem][1]}: the shards evaluated other samples")
            subsets[path.stem] = (indices, store.root)
    for name, (indices, _) in subsets.items():
        merged.write_subset(name, indices)


def _choose_results(stores: list[RunStore]) -> dict[Key, tuple[RunStore, TaskResult]]:
    """One result per entry: one that a shard's own test produced beats one computed only as
    a baseline for retention; otherwise the first shard's."""
    chosen: dict[Key, tuple[RunStore, TaskResult]] = {}
    for store in stores:
        for result in store.results():
            info = result.info
            key = (str(info["model"]), str(info["variant"]), str(info["task"]))
            if key not in chosen or ("test" in info and "test" not in chosen[key][1].info):
                chosen[key] = (store, result)
    return chosen


def _with_baselines(merged: RunStore, config: dict[str, Any]
                    ) -> list[tuple[TaskResult, TaskResult]]:
    """Every entry of the merged run beside the baseline's result of its model, task and
    attention (the baseline's own entries, and entries without a baseline, left out)."""
    def key(r: TaskResult) -> tuple[Any, ...]:
        return r.info["model"], r.info["task"], r.info.get("attn_implementation")

    results = merged.results()
    baseline = str(config.get("baseline"))
    base = {key(r): r for r in results
            if r.info.get("base_variant", r.info["variant"]) == baseline}
    return [(r, base[key(r)]) for r in results if key(r) in base and base[key(r)] is not r]


def _statistics(config: dict[str, Any]) -> Any:
    """The run's settings with the shards' confidence, resamples and seed."""
    from vlmq.config import RunConfig

    return RunConfig().updated({k: config[k] for k in ("confidence", "bootstrap_resamples",
                                                       "seed") if k in config}, "config.yaml")


def _rebase_retention(merged: RunStore, config: dict[str, Any]) -> None:
    """Retention and gates of every entry against the merged run's baseline result of its
    model, recomputed (by the benchmark's own judge) where a shard's own baseline scored
    differently."""
    from vlmq.tasks import TASKS

    run = _statistics(config)
    for result, ref in _with_baselines(merged, config):
        info = result.info
        if not result.retention:
            continue
        stored = info.get("baseline_scores", {})
        if all(stored.get(m) == ref.metrics[m].value for m in result.retention):
            continue
        task = TASKS.get(TaskKey.parse(str(info["task"])).task)
        judge_against(result, ref, task.metrics, bootstrap_settings(run))
        result.notes["retention"] = (f"recomputed by vlmq merge against the baseline of shard "
                                     f"run {ref.info.get('shard_run')}")
        merged.write_result(result)


# What makes two shards' timings comparable: the same kind of machine, threads and torch.
SAME_KIND = ("cpu_model", "cpu_cores_usable", "torch_threads", "gpu_name", "torch_version")


def _ratios_across_shards(merged: RunStore, config: dict[str, Any],
                          machines: dict[str, dict[str, Any]]) -> None:
    """The latency ratio of every entry whose shard did not time the baseline (one variant
    per process, `scripts/real_scale_cpu.sh ISOLATE=1`), against the baseline's timed rounds
    from its own shard, where both shards ran on the same kind of machine; noted either way,
    since two processes also differ by whatever the machine did between them."""
    from vlmq.results.measures import timed_rounds

    run = _statistics(config)
    for result, ref in _with_baselines(merged, config):
        timing = result.info.get("timing")
        if not isinstance(timing, dict) or "latency_ratio" in timing:
            continue
        mine, theirs = (machines.get(str(r.info.get("shard_run")), {}) for r in (result, ref))
        differ = [k for k in SAME_KIND if mine.get(k) != theirs.get(k)]
        if differ:
            result.notes["latency_ratio"] = (f"none: the baseline was timed on another kind of "
                                             f"machine ({', '.join(differ)} differ)")
        else:
            ratio = latency_ratio(timed_rounds(result), timed_rounds(ref), run.confidence,
                                  run.bootstrap_resamples, run.seed)
            if ratio is None:
                continue
            timing["latency_ratio"] = ratio
            result.notes["latency_ratio"] = (
                f"against the baseline timed in shard run {ref.info.get('shard_run')}: another "
                f"process on the same kind of machine, so the ratio also carries what the "
                f"machine did between the two")
        merged.write_result(result)


def _merge_machines(stores: list[RunStore], merged: RunStore) -> None:
    machines = [{"run": s.run_id, **s.read_machine()} for s in stores]
    first = dict(machines[0])
    first["shards"] = machines
    merged.write_machine(first)


def _copy(src: Path, dst: Path) -> None:
    if src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)

