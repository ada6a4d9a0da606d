"""The fields vlmq itself writes into `TaskResult.info` when a result is built, typed.

`TaskResult.info` stays a plain mapping, so that the JSON layout (a result's `extra_info["vlmq"]`
in pytest-benchmark's JSON and the run folder) is unchanged and hooks may add fields of their
own; `ResultInfo.to_dict()` is what the session writes there, key for key as before.

Written later, by the code that computes them, and read by key: `test` (the pytest node id),
`timing` (intervals of the batch latency, `vlmq.stats.timing`), `baseline_scores` (the judge),
`next_look` (a look superseded by a later one), `synthetic` and `hardware_limits`
(`vlmq.results.measures`), `shard_run` (`vlmq merge`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Look:
    """Where a result stands in --vlmq-samples auto's sequence of looks."""

    n: int  # samples evaluated at this look
    of: int  # how many looks the task has
    sizes: list[int]  # the subset size of each look
    confidence: float  # each look's interval confidence (the error rate split across looks)


@dataclass(frozen=True)
class ResultInfo:
    """What a result was measured on and with."""

    model: str
    variant: str  # the variant key: the variant, with its attention when not sdpa
    task: str  # the task key (`vlmq.results.taskkey.TaskKey`)
    base_variant: str
    attn_implementation: str
    dataset: str
    split: str | None
    device: str
    baseline: str  # the baseline variant of the run
    run_id: str
    baseline_model: str  # the model whose baseline scores gate this one
    bits: int | None  # the bit width the variant stores its weights in
    samples: int
    failed_samples: int
    over_context: int  # samples failed because their prompt is over the model's context
    batch_size: int
    max_new_tokens: int | None  # None for tasks that do not generate
    seed: int
    family: str
    threads: int
    generation: str | None  # the generation mode; None for tasks that do not generate
    fixed_new_tokens: bool
    worker: str = ""  # the pytest-xdist worker; written only under xdist
    look: Look | None = None  # written only with --vlmq-samples auto

    def to_dict(self) -> dict[str, Any]:
        """The `TaskResult.info` mapping, in the JSON layout results have always had."""
        optional = {"worker", "look"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in optional}
        if self.worker:
            out["worker"] = self.worker
        if self.look is not None:
            out["look"] = asdict(self.look)
        return out
