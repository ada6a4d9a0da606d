"""The vlmq command: exit codes for CI, report rebuild, export, and no torch import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from report_fixtures import make_results, write_benchmark_json, write_run

from vlmq.cli import main

LLAVA = "HuggingFaceM4/tiny-llava"


def test_compare_exit_codes_and_json(tmp_path, capsys) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1))
    b = write_benchmark_json(tmp_path / "b.json", make_results(2))
    bad = write_benchmark_json(tmp_path / "c.json",
                               make_results(3, degrade=(LLAVA, "int8", "cider", 0.85)))
    assert main(["compare", str(a), str(b)]) == 0
    assert "0 regression(s)" in capsys.readouterr().out
    out_json = tmp_path / "cmp.json"
    assert main(["compare", str(a), str(bad), "--json", str(out_json)]) == 1
    out = capsys.readouterr().out
    assert f"REGRESSION: {LLAVA}/int8/caption cider" in out
    assert out.count("REGRESSION:") == 1
    assert json.loads(out_json.read_text())["regressions"] == 1
    assert main(["compare", str(a), str(bad), "--threshold", "cider=20%"]) == 0


def test_compare_fails_closed_on_missing_data(tmp_path, capsys) -> None:
    """Exit 3 (incomplete) when the candidate lacks a reference entry, when nothing matches and
    for a plain pytest-benchmark JSON; --allow-missing accepts all three."""
    results = make_results(1)
    a = write_benchmark_json(tmp_path / "a.json", results)
    dropped = results[0].info
    short = write_benchmark_json(tmp_path / "short.json", make_results(2)[1:])
    renamed = make_results(2)
    for r in renamed:
        r.info["variant"] = "other-" + r.info["variant"]
    disjoint = write_benchmark_json(tmp_path / "disjoint.json", renamed)
    plain_doc = json.loads(a.read_text())
    for b in plain_doc["benchmarks"]:
        b["extra_info"] = {}
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(plain_doc))

    missing_label = "/".join(str(dropped[k]) for k in ("model", "variant", "task"))
    cases = {short: f"1 entries of the reference are missing: {missing_label}",
             disjoint: "no entry matches the reference", plain: "no vlmq results in it"}
    for candidate, why in cases.items():
        assert main(["compare", str(a), str(candidate)]) == 3, candidate.name
        out = capsys.readouterr().out
        assert f"INCOMPLETE: {candidate}: {why}" in out, out[-800:]
        assert main(["compare", str(a), str(candidate), "--allow-missing"]) == 0
        assert f"note: {candidate}: {why}" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(tmp_path, capsys) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1))
    assert main(["compare", str(a), str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("vlmq: error:") and "\n" not in err
    assert main(["compare", str(a)]) == 2
    assert main(["compare", str(a), str(a), "--threshold", "cider"]) == 2
    assert main(["nonsense"]) == 2


def test_report_and_export_commands(tmp_path, capsys) -> None:
    store = write_run(tmp_path, 0, "r")
    assert main(["report", str(store.root)]) == 0
    assert store.report_md.is_file() and (store.plots_dir / "combined_metrics.png").is_file()
    out = capsys.readouterr().out.splitlines()  # the decision matrix, then the report's path
    assert out[0].startswith("vlmq decision") and out[-1] == str(store.report_md)
    assert main(["export", str(store.root), "--out", str(tmp_path / "bench.json")]) == 0
    assert json.loads((tmp_path / "bench-bigger.json").read_text())
    assert main(["export", str(store.root), "--out", str(tmp_path / "s.json"),
                 "--kind", "smaller"]) == 0
    assert all(i["unit"] for i in json.loads((tmp_path / "s.json").read_text()))
    assert main(["report", str(tmp_path / "nope")]) == 2


def test_reading_code_never_imports_torch(tmp_path) -> None:
    a = write_benchmark_json(tmp_path / "a.json", make_results(1))
    store = write_run(tmp_path, 0, "r")
    code = (
        "import sys\n"
        "import vlmq.cli, vlmq.report, vlmq.results.store, vlmq.results.summary\n"
        "import vlmq.results.progress, vlmq.report.build, vlmq.report.export\n"
        f"assert vlmq.cli.main(['compare', {str(a)!r}, {str(a)!r}]) == 0\n"
        f"vlmq.report.build_report({str(store.root)!r})\n"
        f"assert vlmq.cli.main(['history', {str(a)!r}, {str(store.root)!r}, '--out', "
        f"{str(tmp_path / 'h.html')!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
