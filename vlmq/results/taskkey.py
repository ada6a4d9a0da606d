"""The key of one evaluated task in run folders and results: `caption` (the fast subset),
`caption-full` (the whole split, -m slow) or `caption@256` (a later look of --vlmq-samples
auto at 256 samples). Formatted and parsed here only."""

from __future__ import annotations

from dataclasses import dataclass

FULL_SUFFIX = "-full"
LOOK_MARK = "@"


@dataclass(frozen=True)
class TaskKey:
    task: str
    full: bool = False
    look: int | None = None  # the subset size of a later look of --vlmq-samples auto

    def __post_init__(self) -> None:
        if self.full and self.look is not None:
            raise ValueError("a task key is either the full split or a look, not both")

    def __str__(self) -> str:
        if self.look is not None:
            return f"{self.task}{LOOK_MARK}{self.look}"
        return f"{self.task}{FULL_SUFFIX}" if self.full else self.task

    @classmethod
    def parse(cls, key: str) -> TaskKey:
        task, mark, size = key.rpartition(LOOK_MARK)
        if mark and size.isdigit():
            return cls(task, look=int(size))
        if key.endswith(FULL_SUFFIX):
            return cls(key.removesuffix(FULL_SUFFIX), full=True)
        return cls(key)

    def at_look(self, n: int) -> TaskKey:
        """This task's key at the look of `n` samples."""
        return TaskKey(self.task, look=n)
