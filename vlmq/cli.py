"""The `vlmq` command: compare runs, rebuild a report, draw the history, export results,
check two runs agree.

Exit codes: 0 fine, 1 `compare` found a regression (or `agree` a task under 99%), 2 bad input
(one line on stderr), 3 `compare` is incomplete: an entry of the reference is missing from a
later run, no entry matches, or an input has no vlmq results (`--allow-missing` turns these into
notes); or `merge` was given unfinished, repeated or too few shards (`--allow-incomplete`). A
regression wins over incompleteness (exit 1).
Every command reads stored results only, so none imports torch (an import-linter contract in
pyproject.toml keeps it so); writing a synthetic checkpoint is `python -m vlmq.synth`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, TextIO

from vlmq.errors import VlmqError
from vlmq.results.atomic import write_atomic


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vlmq", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    _compare_parser(sub)
    r = sub.add_parser("report", help="rebuild summary, plots and report.md of a run folder; "
                       "print its decision matrix")
    r.add_argument("run_dir", metavar="RUN_DIR")

    m = sub.add_parser("merge", help="join the run folders of shards (--vlmq-shard K/N) into one",
                       description="Join shard run folders into one run folder with its "
                       "summary, report and gates; exit 1 when a gate fails, as pytest would.")
    m.add_argument("runs", nargs="+", metavar="RUN_DIR", help="the shards' run folders")
    m.add_argument("--out", required=True, metavar="RUN_DIR", help="the merged run folder (new)")
    m.add_argument("--json", dest="json_out", metavar="FILE",
                   help="also write the merged run as one pytest-benchmark JSON")
    m.add_argument("--allow-incomplete", action="store_true",
                   help="merge unfinished shards, or shards that do not cover every part of "
                   "the plan, and say so (exit 3 otherwise)")

    h = sub.add_parser("history", help="history.html: trends over saved runs, regressions "
                       "flagged by compare's rule", description="Draw every metric of every "
                       "model x variant x task over saved runs, oldest first; each run is judged "
                       "against the one before it as `vlmq compare` judges (see "
                       "vlmq/report/history.py).")
    h.add_argument("inputs", nargs="+", metavar="DIR_OR_FILE",
                   help="run folders, pytest-benchmark JSON files, or folders holding them "
                        "(.benchmarks/, reports/runs/)")
    h.add_argument("--out", default="history.html", metavar="FILE",
                   help="the page to write (default history.html)")
    h.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                   help="as for compare; repeatable")
    h.add_argument("--alpha", type=float, default=0.01, help="as for compare (default 0.01)")
    h.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    h.add_argument("--storage", default=".benchmarks", help="storage for saved ids")

    _recommend_parser(sub)
    e = sub.add_parser("export", help="github-action-benchmark custom JSON from a run or JSON")
    e.add_argument("source", metavar="RUN_OR_JSON")
    e.add_argument("--out", required=True, metavar="FILE",
                   help="output file; with --kind both, FILE-bigger.json and FILE-smaller.json")
    e.add_argument("--kind", choices=("bigger", "smaller", "both"), default="both",
                   help="customBiggerIsBetter, customSmallerIsBetter or both (default)")
    e.add_argument("--storage", default=".benchmarks", help="storage for saved ids")
    _agree_parser(sub)
    return p


def _compare_parser(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("compare", help="compare runs on every metric; exit 1 on a regression",
                       description="Compare the first run (reference) with each later one. "
                       "A metric regresses only when its change is beyond its threshold AND "
                       "significant (the rules: vlmq/report/compare.py; the tests: "
                       "vlmq/stats/significance.py).")
    c.add_argument("runs", nargs="+", metavar="RUN",
                   help="pytest-benchmark JSON, run folder, or saved id (0003) under --storage")
    c.add_argument("--history", action="append", default=[], metavar="RUN",
                   help="an earlier run of the reference side (repeatable): with >= 2, "
                   "timing, energy, memory and load time are judged against the spread of "
                   "the past runs instead of within-run tests plus minimum effects")
    c.add_argument("--threshold", action="append", default=[], metavar="NAME=VALUE",
                   help="per-metric (or per-kind) threshold: 0.05, 5%% or 0.01abs; repeatable")
    c.add_argument("--alpha", type=float, default=0.01,
                   help="family-wise significance level (Holm); default 0.01")
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    c.add_argument("--storage", default=".benchmarks",
                   help="pytest-benchmark storage for saved ids (default .benchmarks)")
    c.add_argument("--json", dest="json_out", metavar="FILE", help="also write the rows as JSON")
    c.add_argument("--allow-missing", action="store_true",
                   help="missing entries, disjoint runs or inputs without vlmq results are "
                   "notes, not a failure (exit 3 otherwise)")
    c.add_argument("--only-judged", action="store_true",
                   help="hide rows that are shown only (min/max/mean/stddev timing)")


def _recommend_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("recommend", help="name the variant to ship: passes every gate, meets "
                       "every limit; exit 1 when none does",
                       description="Judge every variant of a run against its gates and a "
                       "budget. Without limits on the command line, the run's own --vlmq-budget "
                       "is used. Exit 0 when a variant qualifies, 1 when none does.")
    r.add_argument("run", metavar="RUN", help="run folder, pytest-benchmark JSON or saved id")
    r.add_argument("--max-memory-mib", type=float, help="largest footprint allowed (MiB)")
    r.add_argument("--max-latency-ratio", type=float,
                   help="largest median latency / the baseline's on every task")
    r.add_argument("--max-energy-ratio", type=float,
                   help="largest energy per sample / the baseline's on every task")
    r.add_argument("--tasks", help="comma-separated tasks that matter (default: all)")
    r.add_argument("--models", help="comma-separated models to choose among (default: all)")
    r.add_argument("--rank-by", choices=("memory", "latency", "energy"),
                   help="what to minimise among the qualifying variants (default memory)")
    r.add_argument("--storage", default=".benchmarks", help="storage for saved ids")


def _agree_parser(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("agree", help="identical greedy outputs of two runs of the same weights",
                       description="Per task, the share of samples two runs answered "
                       "identically (e.g. a calibrated variant and its exported checkpoint "
                       "through as-saved); exit 1 when a task is under 99%%.")
    a.add_argument("first", metavar="RUN_DIR:MODEL:VARIANT")
    a.add_argument("second", metavar="RUN_DIR:MODEL:VARIANT")
    a.add_argument("--tasks", required=True, help="comma-separated tasks, e.g. caption,vqa")


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    stdout, sys.stdout = sys.stdout, _ClosedPipeSafe(sys.stdout)
    try:
        return _run(args)
    except VlmqError as exc:
        print(f"vlmq: error: {exc}", file=sys.stderr)
        return 2
    finally:
        sys.stdout = stdout


class _ClosedPipeSafe:
    """stdout that outlives its reader: when a pipe's reader stops early (`vlmq compare | head`)
    the rest of the output goes to /dev/null and the command still finishes with its own exit
    code, instead of a BrokenPipeError traceback and exit 1 (which means "regression")."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _run(args: argparse.Namespace) -> int:
    if args.command == "compare":
        return _compare(args)
    if args.command == "merge":
        return _merge(args)
    if args.command == "agree":
        return _agree(args)
    if args.command == "report":
        from vlmq.report.build import build_report
        from vlmq.report.terminal import decision_lines
        from vlmq.results.store import RunStore

        path = build_report(args.run_dir)
        store = RunStore.open(args.run_dir)
        print("\n".join([*decision_lines(store.results(), store.read_config()), str(path)]))
        return 0
    if args.command == "recommend":
        return _recommend(args)
    if args.command == "history":
        from vlmq.report.compare import parse_thresholds
        from vlmq.report.history import CHANGE, write_history

        path, runs, flags = write_history(args.inputs, args.out,
                                          parse_thresholds(args.threshold), args.alpha,
                                          args.seed, args.storage)
        for f in flags:
            moved = (f" level {f.before:.4g} -> {f.after:.4g}" + (
                f" ({f.after / f.before - 1:+.1%})" if f.before else "")
                if f.verdict == CHANGE else "")
            print(f"{f.verdict}: {runs[f.run].run.label} {' / '.join(f.key)} {f.metric}{moved}")
        print(f"{path}: {len(runs)} runs, "
              f"{sum(f.verdict == 'REGRESSION' for f in flags)} regression(s) flagged, "
              f"{sum(f.verdict == CHANGE for f in flags)} change point(s)")
        return 0
    from vlmq.report.export import write_benchmark_action

    for path in write_benchmark_action(args.source, args.out, args.kind, args.storage):
        print(path)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from vlmq.report import compare as cmp
    from vlmq.report import interfered

    if len(args.runs) < 2:
        raise VlmqError("compare needs at least two runs (reference first)")
    runs = [cmp.load_run(s, args.storage) for s in args.runs]
    history = [cmp.load_run(s, args.storage) for s in args.history]
    rows = cmp.compare(runs, cmp.parse_thresholds(args.threshold), args.alpha, args.seed,
                       history)
    shown = [r for r in rows if r.higher_is_better is not None] if args.only_judged else rows
    print(cmp.format_table(shown, runs))
    for line in cmp.missing(runs) + interfered.notes(runs):
        print(f"note: {line}")
    if args.json_out:
        write_atomic(args.json_out, json.dumps(cmp.to_json(rows, runs), indent=1,
                                               allow_nan=False), "the comparison")
    gaps = cmp.incomplete(runs)
    for line in gaps:
        print(f"{'note' if args.allow_missing else 'INCOMPLETE'}: {line}")
    bad = [r for r in rows if r.regressed]
    for r in bad:
        print(f"REGRESSION: {r.entry} {r.metric}")
    if history:
        from vlmq.report.drift import drift_line, drifts

        series = history + runs
        for d in drifts(series):
            print(drift_line(d, series))
    failed_closed = bool(gaps) and not args.allow_missing
    print(f"{len(bad)} regression(s) in {len(rows)} metric rows"
          + ("; comparison INCOMPLETE (exit 3; --allow-missing accepts it)"
             if failed_closed else ""))
    return 1 if bad else 3 if failed_closed else 0


def _recommend(args: argparse.Namespace) -> int:
    from vlmq.budget import Budget
    from vlmq.report.compare import load_run, resolve
    from vlmq.report.decision import decision_matrix
    from vlmq.report.recommend import recommend, recommendation_text
    from vlmq.report.view import RunView
    from vlmq.results.store import read_run_config

    path = resolve(args.run, args.storage)
    config = read_run_config(path) if path.is_dir() else {}
    given = {k: getattr(args, k) for k in ("max_memory_mib", "max_latency_ratio",
                                           "max_energy_ratio", "tasks", "models", "rank_by")}
    values = given if any(v is not None for v in given.values()) else config.get("budget") or {}
    budget = Budget.from_mapping(values, "vlmq recommend")
    results = [e.result for e in load_run(args.run, args.storage).entries.values() if e.result]
    rec = recommend(decision_matrix(RunView.of(results, config)), budget)
    print(recommendation_text(rec))
    return 0 if rec.choice else 1


def _agree(args: argparse.Namespace) -> int:
    from vlmq.results.agreement import REQUIRED, agreement

    rows = agreement(args.first, args.second, [t for t in args.tasks.split(",") if t])
    for r in rows:
        print(f"{r.task}: {r.identical}/{r.samples} identical ({r.rate:.1%})"
              + (f"; differ: {', '.join(r.differing[:5])}" if r.differing else ""))
    bad = [r.task for r in rows if not r.agrees]
    print(f"{'DISAGREE' if bad else 'agree'}: {len(rows) - len(bad)} of {len(rows)} tasks at "
          f">= {REQUIRED:.0%} identical")
    return 1 if bad else 0


def _merge(args: argparse.Namespace) -> int:
    from vlmq.report.build import build_report
    from vlmq.results.benchjson import benchmark_document
    from vlmq.results.completeness import merge_gaps
    from vlmq.results.gates import gate_failures
    from vlmq.results.merge import merge_runs
    from vlmq.results.store import RunStore
    from vlmq.stats.gates import DEFAULT_GATE_POLICY

    gaps = merge_gaps([RunStore.open(s) for s in args.runs])
    if gaps and not args.allow_incomplete:
        print(f"vlmq: merge refused, the shards are incomplete: {'; '.join(gaps)} (exit 3; "
              "--allow-incomplete merges what there is)", file=sys.stderr)
        return 3
    merged = merge_runs(args.runs, args.out)
    print(f"merged {len(args.runs)} runs into {merged.root}"
          + (f" INCOMPLETE (--allow-incomplete): {'; '.join(gaps)}" if gaps else ""))
    print(build_report(merged.root))
    results = merged.results()
    if args.json_out:
        doc = benchmark_document(results, merged.read_machine(),
                                 note=f"merged by vlmq merge from {', '.join(args.runs)}")
        doc["vlmq"] = {"run_id": merged.run_id, "run_dir": str(merged.root),
                       "merged_from": list(args.runs)}
        write_atomic(args.json_out, json.dumps(doc, indent=1, default=str), "the merged JSON")
        print(f"wrote {args.json_out} ({len(doc['benchmarks'])} entries)")
    policy = str(merged.read_config().get("gate") or DEFAULT_GATE_POLICY)
    failures = [line for r in results for line in gate_failures(r, policy)]
    for line in failures:
        print(f"GATE FAILED: {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
