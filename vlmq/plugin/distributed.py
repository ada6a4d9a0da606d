"""The benchmarks on several pytest-xdist workers: `pytest benchmarks/ -n N` (or `-n auto`).

- Scheduling: each model x variant (x attention) is one `xdist_group`, and plain `-n N` is
  scheduled as `--dist loadgroup`, so a variant is loaded once, on one worker.
- Devices: `-n auto` starts one worker per visible GPU; each worker sees only its own GPU
  (CUDA_VISIBLE_DEVICES is set before CUDA initializes), so its timings are its device's alone.
  On CPU the cores are divided among the workers (`--vlmq-threads 0`), and every result records
  its worker and thread count.
- One run: the controller picks the run id and hands it to every worker; workers share the run
  folder, where each task is held by one process at a time (`RunStore.task_lock`), so the
  baseline is computed once and every retention equals the single-process one. A killed worker's
  unfinished task is finished by resuming the same run id.
- One JSON: pytest-benchmark switches its timing off under xdist; vlmq times every batch itself
  (the records' latencies), and the controller rebuilds the run's entries from the shared run
  folder into pytest-benchmark's own session before it writes --benchmark-json (and writes the
  summary and report once).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

WORKER_RUN_ID = "vlmq_run_id"
ENTRY_PROPERTY = "vlmq_entry"  # (model, variant key, task key) on a benchmark test's report


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def is_controller(config: pytest.Config) -> bool:
    """The xdist controller: it runs no test and collects nothing."""
    return not is_worker(config) and config.pluginmanager.hasplugin("dsession")


def worker_settings(config: pytest.Config, threads: int) -> dict[str, Any]:
    """Settings a worker overrides: the controller's run id and its share of the CPU cores;
    pins the worker to one GPU before anything initializes CUDA."""
    info = config.workerinput  # type: ignore[attr-defined]
    index, count = int(info["workerid"].lstrip("gw") or 0), int(info["workercount"])
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    gpus = [g for g in visible.split(",") if g.strip()] if visible else _gpu_ids()
    if gpus:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    out: dict[str, Any] = {"run_id": info[WORKER_RUN_ID]}
    if threads == 0:
        out["threads"] = _thread_share(count)
    return out


def _gpu_ids() -> list[str]:
    """Indices of the GPUs the driver reports, without initializing CUDA in this process."""
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
        return [str(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except pynvml.NVMLError:
        return []


RUN_ID_KEY = pytest.StashKey[str]()
LOCK_KEY = pytest.StashKey[Any]()


def start_controller(config: pytest.Config, run: Any) -> dict[str, Any]:
    """Settings of the controller of a distributed run: the run id it hands to its workers (a
    new one unless the user gave one) and the thread share each worker gets. The controller
    owns the run folder's lock; its workers (and its own end-of-run report) join it through
    the environment they inherit (`RunLock.member_env`). It also starts collecting the
    workers' entries.

    A crashed worker is not replaced unless the user asks (`--max-worker-restart`): xdist 3.8
    hangs when it replaces a crashed worker under group scheduling (pytest-xdist issues 1323,
    1327, 1378). The run stops instead, and the same `--vlmq-run-id` resumes it.
    """
    from vlmq.results.lock import RunLock
    from vlmq.results.store import new_run_id, safe_name

    if config.option.maxworkerrestart is None and config.getoption("dist") in ("load",
                                                                              "loadgroup"):
        config.option.maxworkerrestart = "0"
    run_id = config.stash[RUN_ID_KEY] = safe_name(run.run_id) if run.run_id else new_run_id()
    run_dir = Path(run.reports_dir) / run_id
    lock = RunLock(run_dir).acquire(run_id)
    config.stash[LOCK_KEY] = lock
    os.environ.update(lock.member_env())
    config.pluginmanager.register(EntryCollector(run_dir), "vlmq-entry-collector")
    settings: dict[str, Any] = {"run_id": run_id}
    if run.threads == 0:
        settings["threads"] = _thread_share(len(config.getoption("tx") or [1]))
    return settings


def _thread_share(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def distributing(config: pytest.Config) -> bool:
    """True in the xdist controller of a distributed run (before xdist registers it, too)."""
    return (not is_worker(config) and config.pluginmanager.hasplugin("xdist")
            and config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))
            and not config.getoption("collectonly"))


def describe_workers(config: pytest.Config) -> str:
    """What the machine info says of a distributed run's timing."""
    n = len(config.getoption("tx") or [])
    gpus = _gpu_ids()
    where = (f"each pinned to one of {len(gpus)} GPU(s)" if gpus else
             f"sharing {os.cpu_count()} CPU cores, {_thread_share(n)} thread(s) each")
    return f"{n} pytest-xdist workers, {where}; each result names its worker"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker per GPU where there are GPUs (else xdist's CPU count)."""
    return len(_gpu_ids()) or None


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput[WORKER_RUN_ID] = node.config.stash[RUN_ID_KEY]


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Plain `-n N` means `--dist load`: schedule by group instead, so that a variant's tasks
    stay on the worker that loaded it (tests without a group are scheduled as with load)."""
    if config.getvalue("dist") == "load":
        from xdist.scheduler import LoadGroupScheduling

        return LoadGroupScheduling(config, log)
    return None


class EntryCollector:
    """Registered in the controller: remembers which node id produced which entry (from the
    workers' reports), to name the rebuilt benchmark entries."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.entries: dict[tuple[str, ...], str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == ENTRY_PROPERTY:
                self.entries[tuple(value)] = report.nodeid

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Any:
        """Before pytest-benchmark writes its JSON (in its own sessionfinish), hand it the
        entries the workers measured."""
        bench_session = getattr(session.config, "_benchmarksession", None)
        if bench_session is not None and self.run_dir.is_dir():
            bench_session.benchmarks.extend(self.rebuilt_entries())
        yield

    def rebuilt_entries(self) -> list[Any]:
        """pytest-benchmark entries of the results this invocation's tests produced or found."""
        from vlmq.results.benchjson import benchmark_entry
        from vlmq.results.store import RunStore

        out = []
        for result in RunStore.open(self.run_dir).results():
            info = result.info
            nodeid = self.entries.get((info["model"], info["variant"], info["task"]))
            if nodeid is None:
                continue
            entry = benchmark_entry(result, nodeid=nodeid,
                                    note=f"timed by xdist worker {info.get('worker', '?')}")
            if entry:
                out.append(entry)
        return out
