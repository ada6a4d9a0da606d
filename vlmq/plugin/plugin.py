"""The vlmq pytest plugin: options, markers, fixtures and pytest-benchmark hooks.

Loaded through the `pytest11` entry point `vlmq` (see pyproject.toml). Thin by design: it turns
options into a `vlmq.config.RunConfig`, parametrizes the benchmarks over `BenchmarkSession.cases()`
and calls the library. Settings come from (lowest first) RunConfig's
defaults, a YAML file (--vlmq-config or the `vlmq_config` ini key), `vlmq_*` ini keys and
`--vlmq-*` options.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from vlmq.config import RunConfig, parse_pairs
from vlmq.errors import UnavailableError, VlmqError

CONFIG_KEY = pytest.StashKey[RunConfig]()
SESSION_KEY = pytest.StashKey[Any]()
NEEDS_KEY = pytest.StashKey[dict]()

# option names that read better than the field name
_OPTION_NAMES = {
    "models": "model", "datasets": "dataset", "thresholds": "threshold",
    "attn_implementation": "attn", "warmup_rounds": "warmup",
    "bnb_4bit_compute_dtype": "4bit-compute-dtype", "bnb_4bit_double_quant": "4bit-double-quant",
    "country_iso_code": "country",
}
MARKERS = {
    "slow": "full-dataset runs and other long work; deselected by default (run with -m slow)",
    "gpu": "needs a CUDA GPU; skipped with the reason where there is none",
    "energy": "measures energy (codecarbon, NVML on NVIDIA GPUs); --vlmq-energy=off turns it off",
}


def _option(name: str) -> str:
    return "--vlmq-" + _OPTION_NAMES.get(name, name.replace("_", "-"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vlmq", "vlmq: quantized VLM benchmarks")
    group.addoption("--vlmq-config", default=None, help="YAML file with vlmq settings")
    parser.addini("vlmq_config", "YAML file with vlmq settings", default="")
    defaults = RunConfig()
    for f in dataclasses.fields(RunConfig):
        help_text = f.metadata["help"]
        if isinstance(getattr(defaults, f.name), dict):
            group.addoption(_option(f.name), action="append", default=None, metavar="KEY=VALUE",
                            help=f"{help_text} (repeatable)")
            parser.addini(f"vlmq_{f.name}", help_text, type="linelist", default=[])
        else:
            group.addoption(_option(f.name), default=None, help=help_text)
            parser.addini(f"vlmq_{f.name}", help_text, default="")


def build_config(config: pytest.Config) -> RunConfig:
    """RunConfig from file, ini and options, in that order of precedence."""
    path = config.getoption("--vlmq-config") or config.getini("vlmq_config")
    run = RunConfig.from_yaml(Path(config.rootpath, path)) if path else RunConfig()
    for f in dataclasses.fields(RunConfig):
        ini = config.getini(f"vlmq_{f.name}")
        if ini:
            value = parse_pairs(list(ini), f"pytest.ini vlmq_{f.name}") if isinstance(ini, list) \
                else ini
            run = run.updated({f.name: value}, f"pytest.ini vlmq_{f.name}")
    for f in dataclasses.fields(RunConfig):
        opt = config.getoption(_option(f.name))
        if opt is None:
            continue
        value = parse_pairs(opt, _option(f.name)) if isinstance(opt, list) else opt
        if isinstance(value, dict) and isinstance(getattr(run, f.name), dict):
            value = {**getattr(run, f.name), **value}
        run = run.updated({f.name: value}, _option(f.name))
    return run


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    try:
        config.stash[CONFIG_KEY] = build_config(config)
    except VlmqError as exc:
        raise pytest.UsageError(str(exc)) from None


def vlmq_session(config: pytest.Config) -> Any:
    """The run's BenchmarkSession, built on first use (collection of a benchmark)."""
    if SESSION_KEY not in config.stash:
        from vlmq.session import BenchmarkSession

        try:
            config.stash[SESSION_KEY] = BenchmarkSession(config.stash[CONFIG_KEY])
        except VlmqError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SESSION_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Benchmarks that take `vlmq_model` and `vlmq_task` run over every model x variant x task;
    those that take `vlmq_sweep_model` over every model."""
    if "vlmq_sweep_model" in metafunc.fixturenames:
        session = vlmq_session(metafunc.config)
        # a generative model's sweep decodes once per layer: minutes, so it is `slow`
        params = [pytest.param(m, id=m, marks=[pytest.mark.slow] * (
            session.model_kind(m) == "generate")) for m in session.config.models]
        metafunc.parametrize("vlmq_sweep_model", params, scope="session")
    if "vlmq_model" not in metafunc.fixturenames:
        return
    session = vlmq_session(metafunc.config)
    params = []
    try:
        for case in session.cases():
            for task in session.tasks_for(case.model):
                marks = [pytest.mark.energy] if session.config.energy else []
                if session.device.startswith("cuda"):
                    marks.append(pytest.mark.gpu)
                params.append(pytest.param(case, task, id=f"{case.id}-{task}", marks=marks))
    except VlmqError as exc:
        raise pytest.UsageError(str(exc)) from None
    metafunc.parametrize(("vlmq_model", "vlmq_task"), params, indirect=["vlmq_model"],
                         scope="session")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run each model's baseline first (its scores gate the others), one model in memory at a
    time, and remember which tasks each case runs (for a baseline the user deselected)."""
    if SESSION_KEY not in config.stash:
        return
    session = config.stash[SESSION_KEY]
    cases = session.cases()
    order = {c: i for i, c in enumerate(cases)}
    needs: dict[Any, set] = {}

    def key(item: pytest.Item) -> tuple:
        spec = getattr(item, "callspec", None)
        if spec is None or "vlmq_model" not in spec.params:
            return (len(order) + 1,)  # other benchmarks (the sensitivity sweep) run last
        case = spec.params["vlmq_model"]
        full = item.get_closest_marker("slow") is not None
        needs.setdefault(case, set()).add((spec.params["vlmq_task"], full))
        return (order.get(case, len(order)), full, spec.params["vlmq_task"])

    items.sort(key=key)
    config.stash[NEEDS_KEY] = needs


@pytest.fixture(scope="session")
def vlmq_run(request: pytest.FixtureRequest) -> Any:
    """The run's BenchmarkSession (settings, store, baseline, gates)."""
    return vlmq_session(request.config)


@pytest.fixture(scope="session")
def vlmq_model(request: pytest.FixtureRequest) -> Any:
    """(case, loaded model): one variant in memory at a time, freed before the next."""
    from vlmq.loading import unload

    session = vlmq_session(request.config)
    case = request.param
    try:
        if case.variant != session.baseline:
            wanted = request.config.stash.get(NEEDS_KEY, {}).get(case, set())
            session.ensure_baseline(case, sorted(wanted))
        loaded = session.load(case)
    except UnavailableError as exc:
        pytest.skip(str(exc))
    yield case, loaded
    unload(loaded)


@pytest.fixture
def vlmq_benchmark(request: pytest.FixtureRequest, benchmark: Any, vlmq_model: Any,
                   vlmq_task: str) -> Any:
    """Call with full=False/True to run the benchmark body for this test's model x task."""

    def run(full: bool = False) -> None:
        _run_benchmark(request, benchmark, vlmq_model, vlmq_task, full)

    return run


def _run_benchmark(request: pytest.FixtureRequest, benchmark: Any, model: Any, task: str,
                   full: bool) -> None:
    """The body of every benchmark test: evaluate with pedantic timing, record, gate."""
    session = vlmq_session(request.config)
    case, loaded = model
    # plain strings instead of the Case object, so that `--benchmark-group-by=param:variant`
    # and `pytest-benchmark compare --group-by=param:variant` work on the JSON
    benchmark.params = readable_params(case, task)
    runner = _pedantic_runner(benchmark)
    try:
        with _visible_progress(request.config, session.config.progress):
            result = session.run(loaded, case, task, full=full, runner=runner)
    except UnavailableError as exc:
        session.store.write_skip(case.model, case.variant_key, task, str(exc))
        pytest.skip(str(exc))
    benchmark.extra_info.update(result.to_extra_info())
    failures = session.gate(result)
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def readable_params(case: Any, task: str) -> dict[str, str]:
    """The benchmark's params as pytest-benchmark writes them: one plain string each."""
    return {"model": case.model, "variant": case.variant, "attn": case.attn, "task": task}


def _visible_progress(config: pytest.Config, enabled: bool) -> Any:
    """Suspend output capture while a progress bar is shown, so it reaches the terminal."""
    from vlmq.results.progress import progress_enabled

    if not progress_enabled(enabled):
        return contextlib.nullcontext()
    return config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled()


def _pedantic_runner(benchmark: Any) -> Any:
    from vlmq.evaluate import plain_runner

    def runner(call: Any, feed: Any, rounds: int, warmup_rounds: int) -> None:
        if not rounds or benchmark.disabled:
            plain_runner(call, feed, rounds, warmup_rounds)  # pedantic runs once when disabled
            return
        # pedantic times `call` alone (the model); `feed`, its untimed setup, writes the last
        # batch's records and hands over the next prepared batch
        benchmark.pedantic(call, setup=lambda: ((feed(),), {}), rounds=rounds,
                           warmup_rounds=warmup_rounds, iterations=1)

    return runner


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    from vlmq.measure.machine import machine_info as vlmq_machine_info

    machine_info["vlmq"] = vlmq_machine_info()


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list, output_json: dict
                                 ) -> None:
    if SESSION_KEY in config.stash:
        store = config.stash[SESSION_KEY].store
        output_json["vlmq"] = {"run_id": store.run_id, "run_dir": str(store.root)}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the run's summary, plots and report once everything has run."""
    if SESSION_KEY not in session.config.stash:
        return
    bench = session.config.stash[SESSION_KEY]
    if not bench.store_created or not bench.config.report:
        return
    from vlmq.measure.machine import machine_info as vlmq_machine_info

    bench.store.write_machine(vlmq_machine_info())
    try:
        path = bench.finish()
    except VlmqError as exc:
        print(f"\nvlmq: report not written: {exc}")
        return
    print(f"\nvlmq: report written to {path}")
