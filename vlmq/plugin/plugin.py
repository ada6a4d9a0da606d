"""The vlmq pytest plugin: options, markers, fixtures and pytest-benchmark hooks.

Loaded through the `pytest11` entry point `vlmq` (see pyproject.toml). Thin by design: it turns
options into a `vlmq.config.RunConfig`, parametrizes the benchmarks over `BenchmarkSession.cases()`
and calls the library. Settings come from (lowest first) RunConfig's
defaults, a YAML file (--vlmq-config or the `vlmq_config` ini key), `vlmq_*` ini keys and
`--vlmq-*` options.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from vlmq.config import RunConfig, parse_pairs
from vlmq.devices import is_cuda
from vlmq.errors import UnavailableError, VlmqError
from vlmq.plugin import distributed, endings
from vlmq.plugin.fixture import INCONCLUSIVE_KEY, VlmqBenchmarkFixture

CONFIG_KEY = pytest.StashKey[RunConfig]()
SESSION_KEY = pytest.StashKey[Any]()
NEEDS_KEY = pytest.StashKey[dict]()
# a bad setting found while collecting: raised as a usage error once collection is done
ERROR_KEY = pytest.StashKey[str]()

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
            run = run.updated({f.name: value}, f"pytest.ini vlmq_{f.name}", named=True)
    for f in dataclasses.fields(RunConfig):
        opt = config.getoption(_option(f.name))
        if opt is None:
            continue
        value = parse_pairs(opt, _option(f.name)) if isinstance(opt, list) else opt
        if isinstance(value, dict) and isinstance(getattr(run, f.name), dict):
            value = {**getattr(run, f.name), **value}
        run = run.updated({f.name: value}, _option(f.name), named=True)
    return run


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from vlmq.plugin import hookspecs

    pluginmanager.add_hookspecs(hookspecs)
    # pytest-xdist support and the run's endings live in their own plugin modules. Registered
    # as the module objects this one imported: naming them in `pytest_plugins` made pytest
    # mark an imported module for assertion rewriting, which warned in every user's project
    for module in (distributed, endings):
        if not pluginmanager.is_registered(module):
            pluginmanager.register(module, module.__name__)


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    try:
        run = build_config(config)
        if distributed.is_worker(config):
            run = run.updated(distributed.worker_settings(config, run.threads), "xdist worker")
        elif distributed.distributing(config):
            run = run.updated(distributed.start_controller(config, run), "xdist controller")
        elif run.run_id:  # a second process on a live run stops here, before any import
            from vlmq.results.lock import RunLock
            from vlmq.results.store import safe_name

            RunLock(Path(run.reports_dir, safe_name(run.run_id))).check_free(run.run_id)
        config.stash[CONFIG_KEY] = run
    except VlmqError as exc:
        raise pytest.UsageError(str(exc)) from None
    _call_register_hook(config)


def _call_register_hook(config: pytest.Config) -> None:
    """Hand the registries to `pytest_vlmq_register` implementations (historic: conftests
    found later are called when they register). The registries import neither torch nor a
    backend: their entry points load on first use."""
    from vlmq.data.embedded import EMBEDDED
    from vlmq.models.base import ADAPTERS
    from vlmq.tasks.base import TASKS
    from vlmq.variants.registry import VARIANTS

    config.hook.pytest_vlmq_register.call_historic(kwargs=dict(
        config=config, variants=VARIANTS, models=ADAPTERS, tasks=TASKS, datasets=EMBEDDED))


def vlmq_session(config: pytest.Config) -> Any:
    """The run's BenchmarkSession, built on first use (collection of a benchmark)."""
    if SESSION_KEY not in config.stash:
        from vlmq.session import BenchmarkSession

        if ERROR_KEY in config.stash:
            raise pytest.UsageError(config.stash[ERROR_KEY])
        try:
            worker = config.workerinput["workerid"] if distributed.is_worker(config) else ""
            config.stash[SESSION_KEY] = BenchmarkSession(
                config.stash[CONFIG_KEY], worker=worker,
                prestart=not config.getoption("collectonly"))
        except VlmqError as exc:
            config.stash[ERROR_KEY] = str(exc)
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SESSION_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Benchmarks that take `vlmq_model` and `vlmq_task` run over every model x variant x task;
    those that take `vlmq_sweep_model` over every model.

    A bad setting is remembered and raised after collection (`pytest_collection_modifyitems`):
    a UsageError raised here would be reported as one module's collection error instead of
    pytest's usage error (one line, exit 4)."""
    try:
        _parametrize(metafunc)
    except (VlmqError, pytest.UsageError) as exc:
        metafunc.config.stash[ERROR_KEY] = str(exc)


def _parametrize(metafunc: pytest.Metafunc) -> None:
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
    for case in session.cases():
        for task in session.tasks_for(case.model):
            marks = [pytest.mark.energy] if session.config.energy else []
            if is_cuda(session.device):
                marks.append(pytest.mark.gpu)
            if distributed.is_worker(metafunc.config):  # one variant, one worker
                marks.append(pytest.mark.xdist_group(case.id))
            params.append(pytest.param(case, task, id=f"{case.id}-{task}", marks=marks))
    metafunc.parametrize(("vlmq_model", "vlmq_task"), params, indirect=["vlmq_model"],
                         scope="session")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run each model's baseline first (its scores gate the others), one model in memory at a
    time, and remember which tasks each case runs (for a baseline the user deselected)."""
    if ERROR_KEY in config.stash:
        raise pytest.UsageError(config.stash[ERROR_KEY])
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
    """The case's loaded model (a `vlmq.session.Held`): one variant in memory at a time,
    freed before the next."""
    from vlmq.session import Held

    session = vlmq_session(request.config)
    case = request.param
    try:
        if case.variant != session.baseline:
            wanted = request.config.stash.get(NEEDS_KEY, {}).get(case, set())
            session.ensure_baseline(case, sorted(wanted))
    except UnavailableError as exc:
        pytest.skip(str(exc))
    held = Held(case, load=lambda: session.load(case))  # loaded by the first task that runs
    yield held
    held.unload()


@pytest.fixture
def vlmq_benchmark(request: pytest.FixtureRequest, benchmark: Any, vlmq_model: Any,
                   vlmq_task: str) -> VlmqBenchmarkFixture:
    """Call with full=False/True to run the benchmark body for this test's model x task."""
    return VlmqBenchmarkFixture(request, benchmark, vlmq_session(request.config), vlmq_model,
                                vlmq_task)


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    from vlmq.measure.machine import machine_info as vlmq_machine_info

    machine_info["vlmq"] = vlmq_machine_info()
    if distributed.distributing(config):
        machine_info["vlmq"]["xdist"] = distributed.describe_workers(config)


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: list, output_json: dict
                                 ) -> None:
    from vlmq.results.benchjson import complete_params

    complete_params(output_json.get("benchmarks") or [])  # so compare --group-by=param:X works
    if distributed.distributing(config):
        run = config.stash[CONFIG_KEY]
        output_json["vlmq"] = {"run_id": run.run_id,
                               "run_dir": str(Path(run.reports_dir) / run.run_id),
                               "xdist": distributed.describe_workers(config)}
    elif SESSION_KEY in config.stash:
        store = config.stash[SESSION_KEY].store
        output_json["vlmq"] = {"run_id": store.run_id, "run_dir": str(store.root)}


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config
                            ) -> None:
    """The decision matrix (and with --vlmq-budget, the variant to ship), then every gate the
    data could not decide, with the samples that would decide it."""
    _decision_summary(terminalreporter, config)
    undecided = config.stash.get(INCONCLUSIVE_KEY, [])
    if not undecided:
        return
    policy = config.stash[CONFIG_KEY].gate
    terminalreporter.section(f"vlmq: {len(undecided)} inconclusive gate(s) (policy {policy})")
    for line in undecided:
        terminalreporter.write_line(line)


def _decision_summary(terminalreporter: Any, config: pytest.Config) -> None:
    bench = config.stash.get(SESSION_KEY, None)
    if bench is None or distributed.is_worker(config) or not bench.store_created:
        return
    from vlmq.report.terminal import decision_lines

    try:
        lines = decision_lines(bench.store.results(), bench.store.read_config())
    except VlmqError as exc:
        lines = [f"no decision matrix: {exc}"]
    if lines:
        terminalreporter.section("vlmq: decision")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the run's summary, plots and report once everything has run (once per run: by
    the controller of a distributed run, not by its workers)."""
    if distributed.is_worker(session.config):
        return
    if distributed.distributing(session.config):
        vlmq_session(session.config).store  # noqa: B018 - the workers' run folder
    if SESSION_KEY not in session.config.stash:
        return
    bench = session.config.stash[SESSION_KEY]
    if not bench.store_created or not bench.config.report:
        return
    from vlmq.measure.machine import machine_info as vlmq_machine_info

    try:
        bench.store.write_machine(vlmq_machine_info())
        path = bench.finish()
    except VlmqError as exc:  # a full disk: one line, after pytest's summary
        endings.note_write_error(session.config, f"report not written: {exc}")
        return
    print(f"\nvlmq: report written to {path}")


def pytest_unconfigure(config: pytest.Config) -> None:
    if SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].close()
