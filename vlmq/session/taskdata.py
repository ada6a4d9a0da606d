"""A session's task data: the task objects, their datasets, the evaluated subsets (the same
samples for every variant, their indices stored in the run folder) and the decoded image of
a sample for the spot-check page."""

from __future__ import annotations

from typing import Any

from vlmq.config import RunConfig
from vlmq.data.loading import TaskDataset, load_task_dataset, select_subset
from vlmq.errors import UnavailableError, VlmqError
from vlmq.results.taskkey import TaskKey
from vlmq.session.folder import RunFolder
from vlmq.stats.sequential import look_confidence, look_sizes
from vlmq.tasks import TASKS, make_task
from vlmq.tasks.base import Task


class TaskData:
    def __init__(self, config: RunConfig, folder: RunFolder) -> None:
        self.config = config
        self.folder = folder
        self._tasks: dict[str, Task] = {}
        self._full: dict[str, TaskDataset] = {}
        self._subsets: dict[tuple[str, bool, int | None], TaskDataset] = {}

    def task(self, name: str) -> Task:
        if name not in self._tasks:
            cfg = self.config
            # make_task hands each task only the options it takes
            self._tasks[name] = make_task(
                name, ocr_tokens=cfg.ocr_tokens, spice=cfg.spice,
                python_tokenizer=cfg.python_tokenizer or None,
            )
        return self._tasks[name]

    def max_new_tokens(self, task: Task) -> int:
        """The run's cap when set, else the task's own (lmms-eval's), else 32."""
        return self.config.max_new_tokens or getattr(task, "max_new_tokens", None) or 32

    def full_dataset(self, task_name: str) -> TaskDataset:
        """The task's whole dataset (the run's override or the task's default), loaded once."""
        if task_name not in self._full:
            task = self.task(task_name)
            spec = self.config.datasets.get(task_name, task.default_dataset)
            try:
                self._full[task_name] = load_task_dataset(spec, task.layout_kind)
            except UnavailableError:
                raise
            except VlmqError as exc:
                if spec in str(exc):
                    raise
                raise VlmqError(f"dataset {spec!r} of task {task_name!r}: {exc}") from None
        return self._full[task_name]

    def data(self, task_name: str, full: bool = False, n: int | None = None) -> TaskDataset:
        """The task's evaluated subset: the same samples for every variant, indices stored.
        n: a later look's size (--vlmq-samples auto); its subset contains the earlier ones."""
        key = (task_name, full, n)
        if key not in self._subsets:
            task = self.task(task_name)
            full_ds = self.full_dataset(task_name)
            if hasattr(task, "set_label_names") and full_ds.label_names:
                task.set_label_names(full_ds.label_names)
            size = None if full else n or self.config.first_samples
            subset, indices = select_subset(full_ds, size, self.config.seed)
            name = str(TaskKey(task_name, look=n) if n else TaskKey(task_name, full))
            store = self.folder.store
            stored = store.read_subset(name)
            if stored is not None and stored != list(indices):
                raise VlmqError(f"run {store.run_id!r}: the {name} subset differs from the "
                                f"stored one (the dataset changed?); start a new run id")
            store.write_subset(name, list(indices))
            self._subsets[key] = subset
        return self._subsets[key]

    def looks(self, task_name: str) -> list[int]:
        """The subset size of each look of --vlmq-samples auto for this task."""
        cfg = self.config
        return look_sizes(cfg.auto_start, cfg.auto_looks,
                          len(self.full_dataset(task_name).dataset))

    def look_confidence(self, task_name: str) -> float:
        """The run's confidence split across the task's looks (--vlmq-samples auto)."""
        return look_confidence(self.config.confidence, len(self.looks(task_name)))

    def image_lookup(self, sample_id: str) -> Any:
        """The decoded image of a sample evaluated in this session (for the spot-check page)."""
        from vlmq.data.images import decode_image

        if not self._subsets:  # a session that evaluated nothing itself (an xdist controller)
            for path in sorted((self.folder.store.root / "subsets").glob("*.json")):
                key = TaskKey.parse(path.stem)
                if key.look is None and key.task in TASKS:
                    self.data(key.task, key.full)
        for data in self._subsets.values():
            ids = data.dataset["sample_id"]
            if sample_id in ids:
                row = data.dataset[ids.index(sample_id)]
                return decode_image(row["image"], sample_id, data.image_root)
        return None
