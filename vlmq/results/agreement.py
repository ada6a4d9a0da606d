"""Do two runs of the same weights give the same greedy outputs? The check between a calibrated
variant run in process and its exported checkpoint benchmarked again through `as-saved`.

Reads stored records only (no torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vlmq.errors import VlmqError
from vlmq.results.store import RunStore

REQUIRED = 0.99  # identical outputs on at least this share of the samples


@dataclass
class Agreement:
    task: str
    samples: int  # samples both runs finished
    identical: int
    differing: list[str] = field(default_factory=list)  # their sample ids

    @property
    def rate(self) -> float:
        return self.identical / self.samples if self.samples else 0.0

    @property
    def agrees(self) -> bool:
        return self.samples > 0 and self.rate >= REQUIRED


def _side(spec: str) -> tuple[Path, str, str]:
    """RUN_DIR:MODEL:VARIANT -> its parts."""
    run, _, rest = spec.partition(":")
    model, _, variant = rest.rpartition(":")
    if not run or not model or not variant:
        raise VlmqError(f"{spec!r}: expected RUN_DIR:MODEL:VARIANT (the model as the run names "
                        f"it, e.g. reports/runs/r1:llava-tiny:autoround-w4a16)")
    return Path(run), model, variant


def agreement(first: str, second: str, tasks: list[str]) -> list[Agreement]:
    """Per task, how many samples the two sides (RUN_DIR:MODEL:VARIANT) answered identically."""
    (run_a, model_a, var_a), (run_b, model_b, var_b) = _side(first), _side(second)
    store_a, store_b = RunStore.open(run_a), RunStore.open(run_b)
    out = []
    for task in tasks:
        a = {r.sample_id: r.prediction for r in store_a.records(model_a, var_a, task)
             if r.error is None}
        b = {r.sample_id: r.prediction for r in store_b.records(model_b, var_b, task)
             if r.error is None}
        shared = sorted(a.keys() & b.keys())
        if not shared:
            raise VlmqError(f"task {task!r}: no sample finished in both {first} and {second}")
        differing = [s for s in shared if a[s] != b[s]]
        out.append(Agreement(task, len(shared), len(shared) - len(differing), differing))
    return out
