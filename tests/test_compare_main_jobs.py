"""tests/compare_main_jobs.py finds what a behaviour-preserving change must keep: the same
per-sample predictions and scores, the same verdicts, the same JSON fields; timings may differ."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from compare_main_jobs import compare

from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.results.store import RunStore
from vlmq.results.summary import write_summary


def _main_job(root: Path, prediction: str = "a cat", cider: float = 0.99,
              latency: float = 0.1, extra: str | None = None) -> Path:
    """A benchmark JSON and its run folder with one baseline and one gated variant."""
    store = RunStore(root / "reports", "run")
    store.write_config({"gate": "significant"})
    for variant, value in (("fp32", 1.0), ("int8", cider)):
        rec = SampleRecord("s0", 0, 0, "p", prediction, ["a cat"], latency, 3,
                           scores={"cider": value})
        store.append("m", variant, "caption", [rec])
        result = TaskResult(info={"model": "m", "variant": variant, "task": "caption",
                                  "baseline": "fp32"}, rounds_s=[latency])
        result.add("cider", value, "", True, "quality")
        if variant == "int8":
            result.retention["cider"] = value
            result.thresholds["cider"] = 0.97
        if extra:
            result.info[extra] = 1
        store.write_result(result)
    write_summary(store)
    entries = [{"fullname": f"b::t[m-{v}-caption]", "params": {"variant": v},
                "stats": {"mean": latency}} for v in ("fp32", "int8")]
    path = root / "out.json"
    path.write_text(json.dumps({"benchmarks": entries,
                                "vlmq": {"run_id": "run", "run_dir": str(store.root)}}))
    return path


def test_timings_may_differ_and_nothing_else(tmp_path: Path) -> None:
    before = _main_job(tmp_path / "a")
    diffs, counts = compare(before, _main_job(tmp_path / "b", latency=0.2))
    assert diffs == [] and counts["records"] == 2 and counts["results"] == 2
    for changed in (dict(prediction="a dog"), dict(cider=0.5), dict(extra="new_field")):
        diffs, _ = compare(before, _main_job(tmp_path / str(len(changed)) / next(iter(changed)),
                                             **changed))
        assert diffs, changed
    verdict, _ = compare(before, _main_job(tmp_path / "c", cider=0.5))
    assert any("'passed': True" in d and "'passed': False" in d for d in verdict)
    assert any(d.startswith("summary passed: m/int8/caption") for d in verdict)


def test_field_paths_ignore_values(tmp_path: Path) -> None:
    doc = json.loads(_main_job(tmp_path).read_text())
    other = copy.deepcopy(doc)
    other["benchmarks"][0]["stats"]["mean"] = 5.0
    from compare_main_jobs import field_paths

    assert field_paths(doc) == field_paths(other)
    other["benchmarks"][0]["stats"]["max"] = 5.0
    assert "benchmarks[].stats.max" in field_paths(other) - field_paths(doc)


def test_a_run_in_progress_is_compared_on_what_both_finished(tmp_path: Path) -> None:
    before = json.loads(_main_job(tmp_path / "a").read_text())["vlmq"]["run_dir"]
    after = Path(json.loads(_main_job(tmp_path / "b", latency=0.3).read_text())["vlmq"]["run_dir"])
    for path in (after / "results").rglob("int8/*.json"):
        path.unlink()  # not finished yet
    diffs, counts = compare(Path(before), after, finished_only=True)
    assert diffs == [] and counts["results"] == 1 and counts["records"] == 1
    assert compare(Path(before), after)[0]  # in full, the missing result is a difference


def test_a_note_that_comes_with_the_load_is_not_a_difference(tmp_path: Path) -> None:
    before = _main_job(tmp_path / "a")
    after = _main_job(tmp_path / "b")
    run = Path(json.loads(after.read_text())["vlmq"]["run_dir"])
    (path,) = (run / "results").rglob("int8/caption.json")
    result = json.loads(path.read_text())
    result.setdefault("notes", {})["interference"] = "3 of 8 rounds slowed by other processes"
    path.write_text(json.dumps(result))
    assert compare(before, after)[0] == []
    result["notes"]["kernel"] = "a kernel the other run did not name"
    path.write_text(json.dumps(result))
    assert compare(before, after)[0] == [
        "result field only after: results/m/int8/caption.json: notes.kernel"]
