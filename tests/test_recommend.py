"""vlmq recommend and the budget: which variant to ship, and why each other one lost."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from report_fixtures import make_results, write_run

from vlmq.budget import Budget
from vlmq.cli import main
from vlmq.config import RunConfig
from vlmq.errors import VlmqError
from vlmq.report.decision import decision_matrix
from vlmq.report.recommend import recommend
from vlmq.report.view import RunView

MAIN_JOB = Path(__file__).parents[1] / "reports/cpu/aa-2026-11-23/A1.json.gz"


@pytest.fixture(scope="module")
def main_job(tmp_path_factory) -> str:
    """The main job's pytest-benchmark JSON (A1, 2026-11-23, 2-core CPU), unpacked."""
    out = tmp_path_factory.mktemp("main") / "A1.json"
    with gzip.open(MAIN_JOB) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return str(out)


def _recommended(capsys) -> str:
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("RECOMMENDED"))
    return line.split(": ", 1)[1].split(" (")[0]


def test_two_budgets_name_two_variants_and_an_impossible_one_exits_1(main_job, capsys) -> None:
    llava = ["--models", "llava-tiny"]
    assert main(["recommend", main_job, "--max-memory-mib", "10", "--rank-by", "latency",
                 *llava]) == 0
    fastest = _recommended(capsys)
    assert main(["recommend", main_job, "--max-memory-mib", "10", "--rank-by", "memory",
                 *llava]) == 0
    smallest = _recommended(capsys)
    assert (fastest, smallest) == ("llava-tiny / torchao-int8", "llava-tiny / fp4")
    assert main(["recommend", main_job, "--max-memory-mib", "4", *llava]) == 1
    out = capsys.readouterr().out
    assert "NO VARIANT QUALIFIES: the binding constraint is max_memory_mib" in out
    assert "lost: llava-tiny / nf4: footprint 5.544 MiB > max_memory_mib 4" in out


def test_inconclusive_gate_and_straddled_limit_are_never_recommended(main_job, capsys) -> None:
    assert main(["recommend", main_job, "--models", "llava-tiny", "--max-memory-mib", "10",
                 "--max-latency-ratio", "2"]) == 0
    out = capsys.readouterr().out
    # int8's meteor gate on caption is inconclusive in this run; fp4's latency interval
    # (1.77..2.05 on textvqa) straddles the limit
    assert "RECOMMENDED: llava-tiny / quanto-int8" in out
    assert "llava-tiny / int8: gate on caption is undecided" in out
    assert ("undecided: llava-tiny / fp4: latency ratio 1.90× [1.77..2.05] straddles "
            "max_latency_ratio 2: undecided, not met") in out


def test_a_failing_gate_loses_with_the_gate_named() -> None:
    results = make_results(0, degrade=("vit-tiny", "nf4", "top1", 0.0))
    rec = recommend(decision_matrix(RunView.of(results, {})), Budget(models=("vit-tiny",)))
    nf4 = next(c for c in rec.others if c.row.variant == "nf4")
    assert nf4.missed and nf4.blocked[0].startswith("gate on classify fails: top1 retention")
    assert rec.choice is not None and rec.choice.row.variant != "nf4"
    assert all(c.row.cells["classify"].verdict in ("pass", "baseline") for c in rec.ranked)


def test_budget_comes_from_the_run_config_and_is_checked(tmp_path, capsys) -> None:
    store = write_run(tmp_path, 0, "r")
    config = {**store.read_config(), "budget": {"max_memory_mib": "1", "rank_by": "memory"}}
    store.write_config(config)
    assert main(["recommend", str(store.root)]) == 1
    assert "budget: max_memory_mib 1; ranked by memory" in capsys.readouterr().out
    assert RunConfig(budget={"max_latency_ratio": "1.5"}).budget == {"max_latency_ratio": "1.5"}
    with pytest.raises(VlmqError, match="did you mean max_memory_mib"):
        RunConfig(budget={"max_memory": "8"})
    with pytest.raises(VlmqError, match="rank_by 'speed' is not one of memory, latency"):
        Budget.from_mapping({"rank_by": "speed"})
