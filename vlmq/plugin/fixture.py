"""The per-test work of a vlmq benchmark, apart from the run-wide session (as pytest-benchmark
keeps its per-test `BenchmarkFixture` apart from its `BenchmarkSession`): evaluate one model x
task under pedantic timing, record it for pytest-benchmark's JSON, and turn the gates into the
test's outcome."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import pytest

from vlmq.errors import UnavailableError
from vlmq.plugin import distributed, endings
from vlmq.results.atomic import WriteError
from vlmq.results.benchjson import benchmark_params
from vlmq.results.schema import TaskResult
from vlmq.results.taskkey import TaskKey

INCONCLUSIVE_KEY = pytest.StashKey[list]()


class InconclusiveGateWarning(UserWarning):
    """A gate whose retention interval straddles its threshold (passes under `significant`)."""


class VlmqBenchmarkFixture:
    """`vlmq_benchmark`: call it with full=False/True to run this test's model x task."""

    def __init__(self, request: pytest.FixtureRequest, benchmark: Any, session: Any,
                 held: Any, task: str) -> None:
        self.request = request
        self.benchmark = benchmark
        self.session = session  # the run's vlmq.session.BenchmarkSession
        self.held = held  # the case's model (vlmq.session.Held)
        self.task = task

    def __call__(self, full: bool = False) -> None:
        """Evaluate with pedantic timing, record, gate."""
        case = self.held.case
        # plain strings instead of the Case object, so that `--benchmark-group-by=param:variant`
        # and `pytest-benchmark compare --group-by=param:variant` work on the JSON
        self.benchmark.params = benchmark_params(case.model, case.variant, case.attn, self.task,
                                                 case.kv)
        entry = [case.model, case.variant_key, str(TaskKey(self.task, full))]
        self.request.node.user_properties.append((distributed.ENTRY_PROPERTY, entry))
        result = self._evaluate(full, entry)
        if result.info.get("over_context"):
            endings.note_over_context(self.request.config, f"{' '.join(entry)}: "
                                      f"{result.notes.get('over_context', '')}")
        self._record(result)
        self._judge(result)

    def _evaluate(self, full: bool, entry: list[str]) -> TaskResult:
        session, case, nodeid = self.session, self.held.case, self.request.node.nodeid
        try:
            with _visible_progress(self.request.config, session.config.progress):
                # a task finished earlier is reused as stored, without loading the model
                done = session.stored_result(case, self.task, full) is not None
                result = session.run(None if done else self.held.loaded, case, self.task,
                                     full=full,
                                     runner=pedantic_runner(self.benchmark), test=nodeid,
                                     retime=True)
                if not full:  # --vlmq-samples auto: later looks until the gates are decided
                    result = session.decide(self.held, self.task, result, test=nodeid)
                    entry[2] = result.info["task"]
        except UnavailableError as exc:
            session.store.write_skip(case.model, case.variant_key, self.task, str(exc))
            pytest.skip(str(exc))
        except WriteError as exc:  # a full disk: the records written so far stay usable
            endings.note_write_error(self.request.config, str(exc))
            pytest.fail(str(exc), pytrace=False)
        return result

    def _record(self, result: TaskResult) -> None:
        """The result's measurements in the benchmark's extra_info (and its stored rounds,
        where this process did not time them)."""
        benchmark, config = self.benchmark, self.request.config
        if not benchmark.disabled and benchmark.stats is None and result.rounds_s:
            _stored_rounds(benchmark, result.rounds_s)
            result.notes["benchmark_stats"] = (
                "rebuilt from the stored per-batch latencies (rounds_s) of the earlier process")
        benchmark.extra_info.update(result.to_extra_info())
        config.hook.pytest_vlmq_update_extra_info(
            config=config, extra_info=benchmark.extra_info, params=benchmark.params)

    def _judge(self, result: TaskResult) -> None:
        """A failing gate fails the test; an undecided one warns and is listed at the end."""
        undecided = self.session.inconclusive(result)
        self.request.config.stash.setdefault(INCONCLUSIVE_KEY, []).extend(undecided)
        failures = self.session.gate(result)
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)
        for line in undecided:
            warnings.warn(InconclusiveGateWarning(f"{self.held.case.model} {line}"),
                          stacklevel=1)


def _visible_progress(config: pytest.Config, enabled: bool) -> Any:
    """Suspend output capture while a progress bar is shown, so it reaches the terminal."""
    from vlmq.results.progress import progress_enabled

    if not progress_enabled(enabled):
        return contextlib.nullcontext()
    return config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled()


def pedantic_runner(benchmark: Any) -> Any:
    """A batch runner that times each batch's model call with pytest-benchmark's pedantic."""
    from vlmq.evaluate import plain_runner

    def runner(call: Any, feed: Any, rounds: int, warmup_rounds: int) -> None:
        if not rounds or benchmark.disabled:
            plain_runner(call, feed, rounds, warmup_rounds)  # pedantic runs once when disabled
            if benchmark.disabled:
                # timed by vlmq itself (the records' latencies; under xdist the controller
                # rebuilds the entry): tell pytest-benchmark the fixture was used, so it does
                # not warn that it was not
                benchmark._mode = "vlmq (pytest-benchmark disabled)"
            return
        # pedantic times `call` alone (the model); `feed`, its untimed setup, writes the last
        # batch's records and hands over the next prepared batch
        benchmark.pedantic(call, setup=lambda: ((feed(),), {}), rounds=rounds,
                           warmup_rounds=warmup_rounds, iterations=1)

    return runner


def _stored_rounds(benchmark: Any, rounds: list[float]) -> None:
    """Give pytest-benchmark a task's stored rounds, as pedantic would have timed them, so a
    task finished before a resume keeps its entry in --benchmark-json (pytest-benchmark has no
    public way to add measured rounds: this is what its pedantic does per round)."""
    benchmark._mode = "vlmq: stored rounds of a resumed run"
    stats = benchmark._make_stats(1)
    for seconds in rounds:
        stats.update(seconds)
