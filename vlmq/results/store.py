"""A run folder on disk: config, per-sample records, task results and the artefacts around them.

Layout of reports_dir/<run_id>/ (names sanitized by `safe_name`):

    config.yaml                          the resolved RunConfig
    machine.json                         machine/library info (from the pytest layer)
    subsets/<task>.json                  the evaluated sample indices of a task
    records/<model>/<variant>/<task>.jsonl   one SampleRecord per line, appended + fsynced
    results/<model>/<variant>/<task>.json    TaskResult.to_extra_info()
    results/<model>/<variant>/<task>.finished  written once the task is complete
    skipped.jsonl                        variants/tasks that could not run, with reasons
    locks/                               one flock file per task (see `task_lock`)
    structure/<model>__<variant>.txt     module-structure dump of each loaded variant
    plots/, spotcheck.html, spotcheck.png, summary.json/csv, report.md

Resume: records are appended one line per sample and fsynced, so a `kill -9` loses at most the
line being written; that torn line is ignored on read and cut off before the next append.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from vlmq.config import RunConfig
from vlmq.errors import VlmqError
from vlmq.results.atomic import WriteError, sweep_tmp, write_atomic
from vlmq.results.schema import SampleRecord, TaskResult
from vlmq.safe_yaml import load_yaml

# Settings that change what is measured or scored: resuming a run with any of them changed would
# mix two experiments in one folder, so `check_resume` refuses it. Taken from RunConfig's field
# metadata (every field not marked results=False), so a new setting is checked by default.
RESULT_SETTINGS = tuple(RunConfig.result_settings())
_DEFAULTS = RunConfig().to_dict()

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """A file-name-safe form of a model/variant/task name ('org/model' -> 'org--model')."""
    out = _UNSAFE.sub("_", str(name).strip().strip("/").replace("/", "--"))
    if out in ("", ".", ".."):
        raise VlmqError(f"cannot use {name!r} as a name in a run folder: give a non-empty name")
    return out


def new_run_id() -> str:
    """A sortable, collision-safe id: UTC timestamp plus 4 random hex digits."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(2)


class RunStore:
    """Owns one run folder; a run id that exists already is resumed."""

    def __init__(self, reports_dir: str | Path, run_id: str | None = None) -> None:
        self.run_id = safe_name(run_id) if run_id else new_run_id()
        self.root = Path(reports_dir) / self.run_id
        refuse_outside(self.root, Path(reports_dir))
        self.resumed = self.root.is_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        if self.resumed:
            sweep_tmp(self.root)

    @classmethod
    def open(cls, run_dir: str | Path) -> RunStore:
        """An existing run folder (for reports and compare); a clear error when it is not one."""
        p = Path(run_dir)
        if not p.is_dir():
            raise VlmqError(f"run folder {str(p)!r} does not exist")
        if not (p / "results").is_dir() and not (p / "config.yaml").is_file():
            raise VlmqError(f"{str(p)!r} is not a vlmq run folder (no config.yaml or results/)")
        return cls(p.parent, p.name)

    # -- config and machine --------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    def check_resume(self, config: dict[str, Any]) -> None:
        """Refuse to resume this run with a setting in RESULT_SETTINGS changed. A setting the
        stored config lacks (a run from before it existed) counts as its default."""
        old = self.read_config()
        if not old:
            return
        changed = [k for k in RESULT_SETTINGS
                   if k in config and old.get(k, _DEFAULTS.get(k)) != config[k]]
        if changed:
            diffs = ", ".join(f"{k}: {old.get(k, _DEFAULTS.get(k))!r} -> {config[k]!r}"
                              for k in changed)
            raise VlmqError(
                f"run {self.run_id!r} was started with other settings ({diffs}); "
                "resume it with the same settings or start a new run id"
            )

    def write_config(self, config: dict[str, Any]) -> Path:
        """Write the resolved config after `check_resume`."""
        self.check_resume(config)
        write_atomic(self.config_path, yaml.safe_dump(config, sort_keys=False), "the run's config")
        return self.config_path

    def read_config(self) -> dict[str, Any]:
        """The stored config ({} when there is none); a clear error when it is unreadable."""
        return read_run_config(self.root)

    def write_machine(self, info: dict[str, Any]) -> Path:
        path = self.root / "machine.json"
        write_atomic(path, json.dumps(info, indent=2, default=str), "machine info")
        return path

    def read_machine(self) -> dict[str, Any]:
        path = self.root / "machine.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    # -- subsets -------------------------------------------------------------------------------

    def subset_path(self, task: str) -> Path:
        return self.root / "subsets" / f"{safe_name(task)}.json"

    def write_subset(self, task: str, indices: list[int]) -> Path:
        path = self.subset_path(task)
        write_atomic(path, json.dumps([int(i) for i in indices]), f"the subset of {task}")
        return path

    def read_subset(self, task: str) -> list[int] | None:
        """The stored subset of a task, or None when none was written yet."""
        path = self.subset_path(task)
        return json.loads(path.read_text()) if path.is_file() else None

    # -- per-sample records --------------------------------------------------------------------

    def records_path(self, model: str, variant: str, task: str) -> Path:
        return self.root / "records" / safe_name(model) / safe_name(variant) / \
            f"{safe_name(task)}.jsonl"

    def append(self, model: str, variant: str, task: str, records: Iterable[SampleRecord]) -> None:
        """Append records (one batch, say) and fsync once, so they survive a kill."""
        lines = "".join(json.dumps(r.to_dict()) + "\n" for r in records)
        if not lines:
            return
        path = self.records_path(model, variant, task)
        path.parent.mkdir(parents=True, exist_ok=True)
        _cut_torn_tail(path)
        _append(path, lines, f"records of {model} {variant} {task}")

    def rewrite_records(self, model: str, variant: str, task: str,
                        records: Iterable[SampleRecord]) -> Path:
        """Replace a task's records at once (e.g. with per-sample scores added after scoring)."""
        path = self.records_path(model, variant, task)
        write_atomic(path, "".join(json.dumps(r.to_dict()) + "\n" for r in records),
                     f"the records of {model} {variant} {task}")
        return path

    def completed(self, model: str, variant: str, task: str) -> dict[str, SampleRecord]:
        """Records already written, by sample id (failed samples included: they are not redone)."""
        return {r.sample_id: r for r in self._read_records(self.records_path(model, variant, task))}

    def records(self, model: str, variant: str, task: str) -> list[SampleRecord]:
        """The records of one model x variant x task in subset order, each sample once."""
        return sorted(self.completed(model, variant, task).values(), key=lambda r: r.index)

    @staticmethod
    def _read_records(path: Path) -> Iterator[SampleRecord]:
        if not path.is_file():
            return
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield SampleRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as exc:
                if n == len(lines):  # the torn tail of an interrupted append
                    return
                raise VlmqError(f"{path}: line {n} is not a sample record ({exc}); "
                                "delete the file to recompute that task") from None

    # -- task results --------------------------------------------------------------------------

    def _result_base(self, model: str, variant: str, task: str) -> Path:
        return self.root / "results" / safe_name(model) / safe_name(variant) / safe_name(task)

    def write_result(self, result: TaskResult) -> Path:
        info = result.info
        path = self._result_base(info["model"], info["variant"], info["task"]).with_suffix(".json")
        write_atomic(path, json.dumps(result.to_extra_info(), indent=1),
                     f"the result of {info['model']} {info['variant']} {info['task']}")
        return path

    def read_result(self, model: str, variant: str, task: str) -> TaskResult | None:
        path = self._result_base(model, variant, task).with_suffix(".json")
        return _load_result(path) if path.is_file() else None

    def results(self) -> list[TaskResult]:
        """Every stored TaskResult, sorted by (model, variant, task) folder names."""
        return [_load_result(p) for p in sorted((self.root / "results").glob("*/*/*.json"))]

    def mark_finished(self, model: str, variant: str, task: str) -> None:
        path = self._result_base(model, variant, task).with_suffix(".finished")
        write_atomic(path, time.strftime("%Y-%m-%dT%H:%M:%SZ\n", time.gmtime()),
                     f"the finished mark of {model} {variant} {task}")

    def finished_at(self, model: str, variant: str, task: str) -> str:
        """When a finished task was marked finished (UTC, ISO 8601)."""
        path = self._result_base(model, variant, task).with_suffix(".finished")
        return path.read_text().strip()

    def is_finished(self, model: str, variant: str, task: str) -> bool:
        return self._result_base(model, variant, task).with_suffix(".finished").is_file()

    @contextlib.contextmanager
    def task_lock(self, model: str, variant: str, task: str) -> Iterator[None]:
        """Hold one task of one variant for this process: workers of a distributed run (and the
        lazily computed baseline) never evaluate or append to the same task at once. An OS
        lock (flock), released by the kernel when its holder dies, so kill -9 leaves no stale
        lock behind."""
        path = self.root / "locks" / f"{safe_name(model)}__{safe_name(variant)}__" \
            f"{safe_name(task)}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # -- skips ---------------------------------------------------------------------------------

    def write_skip(self, model: str, variant: str, task: str | None, reason: str) -> None:
        """Record that a variant (task None) or one task could not run here, and why."""
        entry = {"model": model, "variant": variant, "task": task, "reason": reason}
        _append(self.root / "skipped.jsonl", json.dumps(entry) + "\n", "a skip")

    def skips(self) -> list[dict[str, Any]]:
        """Recorded skips, one per (model, variant, task), the latest reason winning."""
        path = self.root / "skipped.jsonl"
        if not path.is_file():
            return []
        out: dict[tuple, dict[str, Any]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn line from an interrupted run
            out[(e["model"], e["variant"], e["task"])] = e
        return list(out.values())

    # -- artefacts -----------------------------------------------------------------------------

    def structure_path(self, model: str, variant: str) -> Path:
        return self.root / "structure" / f"{safe_name(model)}__{safe_name(variant)}.txt"

    def write_structure(self, model: str, variant: str, text: str) -> Path:
        path = self.structure_path(model, variant)
        write_atomic(path, text, f"the structure of {model} {variant}")
        return path

    @property
    def plots_dir(self) -> Path:
        return self.root / "plots"

    @property
    def spotcheck_html(self) -> Path:
        return self.root / "spotcheck.html"

    @property
    def spotcheck_png(self) -> Path:
        return self.root / "spotcheck.png"

    @property
    def summary_json(self) -> Path:
        return self.root / "summary.json"

    @property
    def summary_csv(self) -> Path:
        return self.root / "summary.csv"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"


def refuse_outside(root: Path, reports_dir: Path) -> None:
    """A one-line VlmqError when the run folder, or anything under it, is a link that resolves
    outside the reports dir: every artefact would be written there, out of sight."""
    top = reports_dir.resolve()
    if root.is_symlink() and not root.resolve().is_relative_to(top):
        raise VlmqError(f"run folder {str(root)!r} is a link to {str(root.resolve())!r}, outside "
                        f"the reports dir {str(top)!r}; remove the link or use another run id")
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink() and not path.resolve().is_relative_to(top):
                raise VlmqError(f"{str(path)!r} in run folder {str(root)!r} is a link to "
                                f"{str(path.resolve())!r}, outside the reports dir; remove it")


def check_writable_dir(path: Path, setting: str) -> None:
    """A one-line VlmqError unless `path` is a folder we can write, or can be created."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        why = "is not a folder" if not probe.is_dir() else "is not writable"
        raise VlmqError(f"{setting} {str(path)!r} cannot be created: {str(probe)!r} {why}")


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """A run folder's config.yaml as a dict ({} when absent), or a one-line VlmqError."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        return {}
    try:
        data = load_yaml(path.read_text(encoding="utf-8"), str(path)) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise VlmqError(f"{path} is unreadable ({first}); fix or delete it, or start a new "
                        "run id") from None
    if not isinstance(data, dict):
        raise VlmqError(f"{path} does not hold a mapping of settings; fix or delete it, or "
                        "start a new run id")
    return data


def _load_result(path: Path) -> TaskResult:
    try:
        return TaskResult.from_extra_info(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError, KeyError) as exc:
        raise VlmqError(f"{path}: not a task result ({exc}); delete it to recompute") from None


def _append(path: Path, lines: str, what: str) -> None:
    """Append and fsync; a full disk leaves at most a torn last line (cut off by the next
    append, skipped on read) and is one WriteError line."""
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(lines)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise WriteError(f"could not append {what} to {path}: "
                         f"{exc.strerror or type(exc).__name__}") from None


def _cut_torn_tail(path: Path) -> None:
    """Drop a partial last line (no trailing newline) so the next append starts a fresh line."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return  # the usual case: checking one byte keeps appends cheap
        f.seek(0)
        data = f.read()
        f.truncate(data.rfind(b"\n") + 1)
