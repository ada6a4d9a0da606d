"""The small things of issue 22 (item 7): the histogram reader is installed, and compare ends
quietly with its own exit code when its reader closes the pipe (`vlmq compare ... | head`)."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from report_fixtures import make_results, write_benchmark_json

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["pygal", "pygaljs"])
def test_histogram_extra_is_pinned_and_importable(package) -> None:
    """`pytest-benchmark compare --histogram` needs pygal and pygaljs: the set-up installs them."""
    pins = (ROOT / "requirements.txt").read_text()
    assert re.search(rf"^{package}==\S+$", pins, re.M), f"{package} is not pinned"
    from pytest_benchmark.histogram import make_histogram  # raises when either is missing

    assert callable(make_histogram)


# the reader is gone before compare writes a byte: fd 1 is a pipe whose read end is closed
CLOSED_PIPE = """
import os, sys
r, w = os.pipe(); os.close(r); os.dup2(w, 1); os.close(w)
from vlmq.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(("degrade", "code"), [
    (None, 0),
    (("HuggingFaceM4/tiny-llava", "int8", "cider", 0.85), 1),
])
def test_compare_on_a_closed_pipe_keeps_its_exit_code(tmp_path, degrade, code) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1))
    b = write_benchmark_json(tmp_path / "b.json", make_results(2, degrade=degrade))
    proc = subprocess.run([sys.executable, "-c", CLOSED_PIPE, "compare", str(a), str(b)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == ""


class _Noisy:
    """An adapter whose model call raises the same library warnings on every batch."""

    def __init__(self, tag: str) -> None:
        self.tag = tag  # messages of their own per test: the once-only memory is per process

    def call(self, model, inputs, max_new_tokens, on_step, options=None):
        warnings.warn(f"{self.tag}: torch.jit.script is deprecated", DeprecationWarning,
                      stacklevel=1)
        warnings.warn(f"{self.tag}: cast {inputs}", UserWarning, stacklevel=1)
        return inputs


@pytest.mark.parametrize(("category", "expected"), [(DeprecationWarning, 1), (UserWarning, 3)])
def test_warnings_inside_the_timed_call_are_reported_once(category, expected) -> None:
    import torch

    from vlmq.models.base import ModelAdapter

    model = type("M", (), {"device": torch.device("cpu")})()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for batch in range(3):
            ModelAdapter.timed_call(_Noisy(category.__name__), model, batch, 1)  # type: ignore[arg-type]
    # the same message once; messages that differ (each batch's cast) once each
    assert sum(issubclass(w.category, category) for w in seen) == expected
