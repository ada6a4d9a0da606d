"""RunStore: records survive a kill, resume reuses every finished sample, names are path-safe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vlmq.errors import VlmqError
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.results.store import RunStore, safe_name


def rec(i: int) -> SampleRecord:
    return SampleRecord(sample_id=f"s{i}", index=i, batch=i // 4, prompt="p", prediction=f"out {i}",
                        references=[f"ref {i}"], latency_s=0.01 * i, scores={"acc": i % 2})


def test_safe_name_handles_hub_ids_and_rejects_empty() -> None:
    assert safe_name("Qwen/Qwen2.5-VL-3B-Instruct") == "Qwen--Qwen2.5-VL-3B-Instruct"
    assert safe_name("/data/my model") == "data--my_model"
    with pytest.raises(VlmqError):
        safe_name("..")


def test_new_run_ids_are_unique_and_an_existing_id_resumes(tmp_path) -> None:
    a, b = RunStore(tmp_path), RunStore(tmp_path)
    assert a.run_id != b.run_id and not a.resumed
    assert RunStore(tmp_path, a.run_id).resumed


def test_torn_last_line_is_ignored_then_repaired(tmp_path) -> None:
    store = RunStore(tmp_path, "r")
    store.append("org/m", "int8", "caption", [rec(0), rec(1)])
    path = store.records_path("org/m", "int8", "caption")
    with open(path, "a") as f:
        f.write(json.dumps(rec(2).to_dict())[:25])  # what a kill mid-write leaves
    assert sorted(store.completed("org/m", "int8", "caption")) == ["s0", "s1"]
    store.append("org/m", "int8", "caption", [rec(2)])
    assert [r.sample_id for r in store.records("org/m", "int8", "caption")] == ["s0", "s1", "s2"]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_corrupt_middle_line_is_a_clear_error(tmp_path) -> None:
    store = RunStore(tmp_path, "r")
    path = store.records_path("m", "v", "t")
    path.parent.mkdir(parents=True)
    path.write_text("garbage\n" + json.dumps(rec(0).to_dict()) + "\n")
    with pytest.raises(VlmqError, match="line 1"):
        store.completed("m", "v", "t")


def test_resume_checks_every_setting_that_changes_results(tmp_path) -> None:
    """The checked settings come from RunConfig's field metadata: all but those marked
    results=False, so a setting added later is checked without anyone listing it."""
    from vlmq.config import RunConfig

    assert "python_tokenizer" in RunConfig.result_settings()
    assert not {"progress", "report", "run_id", "reports_dir"} & set(RunConfig.result_settings())
    store = RunStore(tmp_path, "r")
    java = RunConfig(device="cpu", baseline="fp32").to_dict()
    store.write_config(java)
    store.write_config({**java, "progress": False, "models": ["vit-tiny"]})  # selection only
    with pytest.raises(VlmqError, match=r"python_tokenizer: False -> True\); resume it with"):
        store.write_config({**java, "python_tokenizer": True})
    # a run written before a setting existed: the missing setting counts as its default
    old = {k: v for k, v in java.items() if k != "spice"}
    store.write_config(old)
    store.check_resume(java)
    with pytest.raises(VlmqError, match="spice: False -> True"):
        store.check_resume({**java, "spice": True})
    store.config_path.write_text("samples: [4\n")
    with pytest.raises(VlmqError, match="config.yaml is unreadable"):
        store.check_resume(java)


def test_results_finished_markers_subsets_skips_and_config(tmp_path) -> None:
    store = RunStore(tmp_path, "r")
    store.write_config({"samples": 8, "seed": 0, "progress": True})
    store.write_config({"samples": 8, "seed": 0, "progress": False})  # harmless change
    with pytest.raises(VlmqError, match="samples"):
        store.write_config({"samples": 16, "seed": 0})
    result = TaskResult(info={"model": "org/m", "variant": "nf4", "task": "vqa"})
    result.add("acc", 0.5, "", True, "quality")
    store.write_result(result)
    assert not store.is_finished("org/m", "nf4", "vqa")
    store.mark_finished("org/m", "nf4", "vqa")
    assert store.is_finished("org/m", "nf4", "vqa")
    assert store.read_result("org/m", "nf4", "vqa").metrics["acc"].value == 0.5
    store.write_subset("vqa", [5, 1, 3])
    assert store.read_subset("vqa") == [5, 1, 3] and store.read_subset("other") is None
    store.write_skip("org/m", "int8", None, "needs cuda")
    store.write_skip("org/m", "int8", None, "needs cuda (again)")
    assert store.skips() == [{"model": "org/m", "variant": "int8", "task": None,
                              "reason": "needs cuda (again)"}]
    assert store.write_structure("org/m", "nf4", "Linear4bit").name == "org--m__nf4.txt"
    with pytest.raises(VlmqError):
        RunStore.open(tmp_path / "nope")


# A worker that evaluates 40 samples in batches of 4, resuming from the store, and can be
# told to SIGKILL itself after a number of batches (mid-append, so a torn line is left).
WORKER = textwrap.dedent("""
    import json, os, signal, sys
    from vlmq.results.schema import SampleRecord
    from vlmq.results.store import RunStore
    reports, kill_after = sys.argv[1], int(sys.argv[2])
    store = RunStore(reports, "run")
    done = store.completed("m", "v", "t")
    computed = []
    todo = [i for i in range(40) if f"s{i}" not in done]
    for n, start in enumerate(range(0, len(todo), 4)):
        batch = [SampleRecord(f"s{i}", i, i // 4, "p", f"out {i}", [], 0.1, scores={"x": i})
                 for i in todo[start:start + 4]]
        if n == kill_after:
            path = store.records_path("m", "v", "t")
            with open(path, "a") as f:
                f.write(json.dumps(batch[0].to_dict())[:30])
                f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        store.append("m", "v", "t", batch)
        computed += [r.sample_id for r in batch]
    print(json.dumps(computed))
""")


def test_kill_9_mid_run_then_resume_equals_uninterrupted_run(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    killed = subprocess.run([sys.executable, str(script), str(tmp_path / "a"), "3"], env=env,
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL
    resumed = subprocess.run([sys.executable, str(script), str(tmp_path / "a"), "-1"], env=env,
                             capture_output=True, text=True, check=True)
    subprocess.run([sys.executable, str(script), str(tmp_path / "b"), "-1"], env=env,
                   capture_output=True, text=True, check=True)
    # the resumed process computed only what the killed one had not stored
    assert json.loads(resumed.stdout) == [f"s{i}" for i in range(12, 40)]
    a = RunStore(tmp_path / "a", "run").records("m", "v", "t")
    b = RunStore(tmp_path / "b", "run").records("m", "v", "t")
    assert [r.to_dict() for r in a] == [r.to_dict() for r in b]
    assert len(a) == 40 and len({r.sample_id for r in a}) == 40
    # a finished run recomputes nothing
    again = subprocess.run([sys.executable, str(script), str(tmp_path / "a"), "-1"], env=env,
                           capture_output=True, text=True, check=True)
    assert json.loads(again.stdout) == []
