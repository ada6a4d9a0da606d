"""Compare two runs of the main job (`pytest benchmarks/ --benchmark-json=out.json
--vlmq-reports-dir=...`), e.g. before and after a refactoring that must not change behaviour.

    python tests/compare_main_jobs.py BEFORE.json AFTER.json [--before-run DIR] [--after-run DIR]
    python tests/compare_main_jobs.py BEFORE_RUN_DIR AFTER_RUN_DIR [--finished-only]

Checks, ignoring every timing value: the same benchmark entries; per sample, the same
prediction, references, error and scores; per result, the same quality metrics, retention,
thresholds, gate intervals and verdicts and the same pass/fail under the run's gate policy;
and the same set of JSON field paths in the benchmark JSON and in every stored result (less
`notes.interference`, which an entry carries only when the machine's load slowed some rounds).
The run folders default to the JSON's `vlmq.run_dir`. Exit status 1 when anything differs.
Not collected by pytest (its name does not start with test_); tests/test_compare_main_jobs.py
tests it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# per-sample record fields that are decided by the model and the scorer, not by the clock
RECORD_FIELDS = ("index", "prompt", "prediction", "references", "new_tokens", "error", "scores")
# fields that exist only when the machine slowed some timed rounds (an interfered entry's note):
# they come and go with the load, like timings, so their presence is not compared
LOAD_DEPENDENT = ("notes.interference",)
# gate fields that are not statistics of the scores
GATE_FIELDS = ("retention", "low", "high", "confidence", "threshold", "verdict", "n",
               "min_detectable_drop", "samples_needed", "method", "resamples", "seed")


def field_paths(value: Any, prefix: str = "") -> set[str]:
    """Every path of a JSON value: `a.b`, list items as `a[]`."""
    if isinstance(value, dict):
        out = {prefix} if prefix else set()
        for key, item in value.items():
            out |= field_paths(item, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(value, list):
        out = {prefix}
        for item in value:
            out |= field_paths(item, prefix + "[]")
        return out
    return {prefix}


def _steady(paths: set[str]) -> set[str]:
    """The field paths less those that depend on the machine's load."""
    return {p for p in paths if not any(p == f or p.startswith(f + ".") or p.endswith("." + f)
                                         or ("." + f + ".") in p for f in LOAD_DEPENDENT)}


def _records(run: Path) -> dict[str, dict[str, Any]]:
    """{records file / sample id: the record's deterministic fields} of a run folder."""
    out = {}
    for path in sorted((run / "records").rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line (a killed run) is not a record
            key = f"{path.relative_to(run)}/{rec['sample_id']}"
            out[key] = {k: rec.get(k) for k in RECORD_FIELDS}
    return out


def _results(run: Path) -> dict[str, dict[str, Any]]:
    return {str(p.relative_to(run)): json.loads(p.read_text())
            for p in sorted((run / "results").rglob("*.json"))}


def _judged(result: dict[str, Any], policy: str) -> dict[str, Any]:
    """What a result says about quality and the verdict, without timings."""
    from vlmq.results.gates import passed
    from vlmq.results.schema import TaskResult

    quality = {k: m["value"] for k, m in result.get("metrics", {}).items()
               if m.get("kind") == "quality"}
    gates = {k: {f: g.get(f) for f in GATE_FIELDS} for k, g in result.get("gates", {}).items()}
    return {"quality": quality, "retention": result.get("retention"),
            "thresholds": result.get("thresholds"), "gates": gates,
            "baseline_scores": result.get("vlmq", {}).get("baseline_scores"),
            "passed": passed(TaskResult.from_extra_info(result), policy)}


def _diff_maps(what: str, a: dict[str, Any], b: dict[str, Any], limit: int = 20) -> list[str]:
    out = [f"{what}: only before: {k}" for k in sorted(a.keys() - b.keys())]
    out += [f"{what}: only after: {k}" for k in sorted(b.keys() - a.keys())]
    out += [f"{what}: {k}: {a[k]!r} != {b[k]!r}" for k in sorted(a.keys() & b.keys())
            if a[k] != b[k]]
    return out[:limit] + ([f"{what}: ... {len(out) - limit} more"] if len(out) > limit else [])


def _summary_passed(run: Path) -> dict[str, Any]:
    path = run / "summary.json"
    if not path.is_file():
        return {}
    doc = json.loads(path.read_text())
    rows = doc["rows"] if isinstance(doc, dict) else doc  # older runs: {"rows": [...], ...}
    return {f"{r['model']}/{r['variant']}/{r['task']}": r.get("passed") for r in rows}


def compare_json(docs: list[dict[str, Any]]) -> tuple[list[str], dict[str, int]]:
    """The benchmark entries and the set of field paths of two --benchmark-json documents."""
    entries = [{b["fullname"]: b for b in d["benchmarks"]} for d in docs]
    out = _diff_maps("benchmark entry params", *[{k: e["params"] for k, e in x.items()}
                                                 for x in entries])
    paths = [_steady(set().union(*[{"benchmarks[]." + p for p in field_paths(b)}
                           for b in d["benchmarks"]], field_paths(
                               {k: v for k, v in d.items() if k != "benchmarks"})))
             for d in docs]
    out += [f"JSON field only before: {p}" for p in sorted(paths[0] - paths[1])]
    out += [f"JSON field only after: {p}" for p in sorted(paths[1] - paths[0])]
    return out, {"entries": len(entries[0]), "json_paths": len(paths[0])}


def compare_runs(runs: list[Path], finished_only: bool = False
                 ) -> tuple[list[str], dict[str, int]]:
    """Per-sample records, verdicts and result fields of two run folders; `finished_only`:
    only the tasks both runs have a result for (to check a run still in progress)."""
    results = [_results(r) for r in runs]
    records = [_records(r) for r in runs]
    if finished_only:
        both = {k.removeprefix("results/").removesuffix(".json")
                for k in results[0].keys() & results[1].keys()}
        results = [{k: v for k, v in res.items() if k.removeprefix("results/")
                    .removesuffix(".json") in both} for res in results]
        records = [{k: v for k, v in rec.items()
                    if k.removeprefix("records/").rpartition(".jsonl/")[0] in both}
                   for rec in records]
    out = _diff_maps("per-sample record", *records)
    policies = [str(_config(r).get("gate") or "significant") for r in runs]
    out += _diff_maps("verdict", *[{k: _judged(v, pol) for k, v in res.items()}
                                   for res, pol in zip(results, policies, strict=True)])
    for key in sorted(results[0].keys() & results[1].keys()):
        a, b = (_steady(field_paths(res[key])) for res in results)
        out += [f"result field only before: {key}: {p}" for p in sorted(a - b)]
        out += [f"result field only after: {key}: {p}" for p in sorted(b - a)]
    if not finished_only:
        out += _diff_maps("summary passed", *[_summary_passed(r) for r in runs])
    return out, {"records": len(records[0]), "results": len(results[0])}


def compare(before: Path, after: Path, before_run: Path | None = None,
            after_run: Path | None = None, finished_only: bool = False
            ) -> tuple[list[str], dict[str, int]]:
    """(differences, counts of what was compared). `before` and `after` are --benchmark-json
    files (their run folders default to the JSON's `vlmq.run_dir`) or run folders."""
    out: list[str] = []
    counts: dict[str, int] = {}
    runs = [Path(before), Path(after)]
    if not runs[0].is_dir():
        docs = [json.loads(p.read_text()) for p in runs]
        runs = [Path(d["vlmq"]["run_dir"]) for d in docs]
        out, counts = compare_json(docs)
    runs = [r or default for r, default in zip((before_run, after_run), runs, strict=True)]
    diffs, run_counts = compare_runs(runs, finished_only)
    return out + diffs, {**counts, **run_counts}


def _config(run: Path) -> dict[str, Any]:
    import yaml

    path = run / "config.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    p.add_argument("--before-run", type=Path, default=None)
    p.add_argument("--after-run", type=Path, default=None)
    p.add_argument("--finished-only", action="store_true",
                   help="compare only the tasks both runs finished (a run in progress)")
    args = p.parse_args(argv)
    diffs, counts = compare(args.before, args.after, args.before_run, args.after_run,
                            args.finished_only)
    for line in diffs:
        print(line)
    what = {"entries": "benchmark entries", "json_paths": "JSON field paths",
            "records": "per-sample records", "results": "results"}
    print("compared " + ", ".join(f"{n} {what[k]}" for k, n in counts.items() if n)
          + f": {len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
