"""Merge only what is complete (issue 22, item 5): `vlmq merge` refuses in one line, exit 3,
when a shard is unfinished, given twice, or the shards do not cover every part of the plan;
`--allow-incomplete` merges what there is and says so. A report where nothing was gated says
so instead of "0 of 0 passed"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from report_fixtures import write_run

from vlmq.cli import main
from vlmq.report.markdown import render
from vlmq.results.store import RunStore

LLAVA = "HuggingFaceM4--tiny-llava"


def _shard(reports: Path, run_id: str, part: str) -> Path:
    store = write_run(reports, 0, run_id)
    config = yaml.safe_load(store.config_path.read_text())
    config["shard"] = part
    store.config_path.write_text(yaml.safe_dump(config))
    return store.root


def _killed(root: Path) -> Path:
    """A shard killed after 4 of its samples of one task: no finished mark, records cut."""
    (root / "results" / LLAVA / "int8" / "caption.finished").unlink()
    (root / "results" / LLAVA / "int8" / "caption.json").unlink()
    records = root / "records" / LLAVA / "int8" / "caption.jsonl"
    records.write_text("".join(records.read_text().splitlines(keepends=True)[:4]))
    return root


CASES = {
    "shard 2 killed after 4 samples": (lambda r: [r["s1"], _killed(r["s2"])],
                                       "is unfinished: 1 task(s) without a finished mark"),
    "shard 1 given twice": (lambda r: [r["s1"], r["s1"]], "is given twice"),
    "two folders of part 1/2": (lambda r: [r["s1"], r["s1b"]], "both ran part 1/2"),
    "part 2 never given": (lambda r: [r["s1"], r["s1b"]],
                           "cover 1 of 2 parts of the plan; missing: 2/2"),
    "a run that is no shard": (lambda r: [r["s1"], r["plain"]], "is not a shard"),
}


@pytest.fixture
def runs(tmp_path) -> dict[str, Path]:
    reports = tmp_path / "runs"
    out = {"s1": _shard(reports, "s1", "1/2"), "s2": _shard(reports, "s2", "2/2")}
    out["s1b"] = reports / "s1b"
    shutil.copytree(out["s1"], out["s1b"])
    out["plain"] = write_run(reports, 0, "plain").root
    return out


@pytest.mark.parametrize("case", CASES)
def test_merge_refuses_incomplete_shards(runs, tmp_path, capsys, case) -> None:
    pick, said = CASES[case]
    out = tmp_path / "merged"
    assert main(["merge", *map(str, pick(runs)), "--out", str(out)]) == 3
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("vlmq: merge refused") and said in err, err
    assert not out.exists()


def test_allow_incomplete_merges_and_says_so(runs, tmp_path, capsys) -> None:
    out = tmp_path / "merged"
    code = main(["merge", str(runs["s1"]), str(_killed(runs["s2"])), "--out", str(out),
                 "--allow-incomplete"])
    assert code in (0, 1)  # 1: a gate of the synthetic run fails, as pytest would say
    assert "INCOMPLETE (--allow-incomplete)" in capsys.readouterr().out
    assert RunStore.open(out).results()


def test_complete_shards_merge(runs, tmp_path, capsys) -> None:
    code = main(["merge", str(runs["s1"]), str(runs["s2"]), "--out", str(tmp_path / "m")])
    assert code in (0, 1) and "INCOMPLETE" not in capsys.readouterr().out


def test_a_report_with_nothing_gated_says_so(tmp_path) -> None:
    store = write_run(tmp_path, 0, "r")
    for variant in ("bf16", "int8", "nf4"):
        for model in (LLAVA, "vit-tiny"):
            shutil.rmtree(store.root / "results" / model / variant)
    text = render(store, {}, [])
    assert "Nothing was gated in this run" in text and "0 of 0" not in text
