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



@pytest.mark.parametrize(("generation", "warmed_again"), [("eager", False), ("static", True)])
def test_a_load_warms_up_once_unless_its_shapes_compile_again(
        tmp_path: Path, generation: str, warmed_again: bool) -> None:
    """The second task of one load starts warm in eager mode (no warm-up call, no
    first_call_s, a note saying which task warmed it); static-cache decoding warms every task."""
    session = BenchmarkSession(RunConfig(
        models=["llava-tiny"], tasks=["vqa", "textvqa"], samples=4, batch_size=2,
        max_new_tokens=3, energy=False, progress=False, device="cpu", generation=generation,
        reports_dir=str(tmp_path / "runs")))
    case = Case("llava-tiny", "fp32")
    loaded = session.load(case)
    try:
        first = session.run(loaded, case, "vqa")
        calls = len(loaded.call_times_s)
        second = session.run(loaded, case, "textvqa")
    finally:
        unload(loaded)
    assert "first_call_s" in first.metrics and loaded.warmed_by == "vqa"
    assert len(loaded.call_times_s) - calls == 2 + warmed_again  # two timed batches
    assert ("first_call_s" in second.metrics) is warmed_again
    assert ("warm_start" in second.notes) is not warmed_again
    assert len(second.rounds_s) == 2
