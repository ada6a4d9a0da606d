"""How a benchmark run ends at its edges (registered by vlmq.plugin.plugin):

- SIGTERM (a CI timeout, `kill`, a scheduler's preemption) ends the run as Ctrl-C does: pytest
  prints its "interrupted" summary, the session finishes and the lock is released; without
  this the process died with no summary at all. Records are fsynced per batch either way, so
  a resume continues where it stopped.
- A file that could not be written at the end (a full disk under the report) is one line,
  printed after pytest's own summary, where it is the last thing a reader sees.
- `--benchmark-disable` keeps pytest-benchmark from writing `--benchmark-json`: said once.
- Samples whose prompt was over the model's context (vlmq.context) are counted per task.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import pytest

WRITE_ERRORS = pytest.StashKey[list[str]]()
OVER_CONTEXT = pytest.StashKey[list[str]]()
_PREVIOUS = pytest.StashKey[Any]()


def note_write_error(config: pytest.Config, message: str) -> None:
    """Keep `message` (one line) to be printed after pytest's summary."""
    config.stash.setdefault(WRITE_ERRORS, []).append(message)


def note_over_context(config: pytest.Config, line: str) -> None:
    """Keep `line` (a task's samples over the model's context) for the run's summary."""
    config.stash.setdefault(OVER_CONTEXT, []).append(line)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def pytest_configure(config: pytest.Config) -> None:
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        config.stash[_PREVIOUS] = signal.signal(signal.SIGTERM, _interrupt)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config
                            ) -> None:
    over = config.stash.get(OVER_CONTEXT, [])
    if over:
        terminalreporter.section("vlmq: samples over the model's context")
        for line in over:
            terminalreporter.write_line(line)
    if config.getoption("benchmark_disable", False) and \
            config.getoption("benchmark_json", None):
        terminalreporter.write_line("vlmq: --benchmark-disable is set, so pytest-benchmark "
                                    "writes no --benchmark-json (vlmq's run folder is written)")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _PREVIOUS in config.stash:
        signal.signal(signal.SIGTERM, config.stash[_PREVIOUS])
    errors = list(dict.fromkeys(config.stash.get(WRITE_ERRORS, [])))
    if errors:  # the first is the cause; the rest (later tests on the same full disk) follow
        more = f" (and {len(errors) - 1} more write error(s))" if len(errors) > 1 else ""
        print(f"vlmq: error: {errors[0]}{more}", file=sys.stderr)
