"""Per-machine one-time work lands at set-up or load, timed apart, never in a task's first
call: optimum-quanto's C++ extension, built afresh into an empty build folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmq.config import RunConfig
from vlmq.loading import unload
from vlmq.session import BenchmarkSession, Case
from vlmq.variants.registry import VARIANTS


@pytest.mark.slow
def test_a_fresh_quanto_build_is_paid_at_load_not_in_the_first_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reason = VARIANTS.get("quanto-int4").unavailable_reason("cpu")
    if reason:
        pytest.skip(reason)
    from optimum.quanto.library.extensions import get_extension

    ext = get_extension("quanto_cpp")
    # an empty build folder: the machine has never built the extension
    monkeypatch.setattr(ext, "build_directory", str(tmp_path / "build"))
    monkeypatch.setattr(ext, "_lib", None)
    session = BenchmarkSession(RunConfig(
        models=["vit-tiny"], variants=["quanto-int4"], tasks=["classify"], samples=32,
        batch_size=16, energy=False, progress=False, device="cpu",
        reports_dir=str(tmp_path / "runs")))
    case = Case("vit-tiny", "quanto-int4")
    loaded = session.load(case)
    try:
        result = session.run(loaded, case, "classify")
    finally:
        unload(loaded)
    assert (tmp_path / "build" / "quanto_cpp.so").is_file()
    built = result.metrics["machine_setup_s"].value
    first = result.metrics["first_call_s"].value
    # the build (tens of seconds) is in machine_setup_s; the first call is a warm-up batch
    assert built > 5.0 and first < built / 5, (built, first)
    assert result.metrics["load_time_s"].value < built

