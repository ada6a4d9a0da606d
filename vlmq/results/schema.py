"""The shapes results are written in. Torch-free: reports and compare read these.

A benchmark entry's `extra_info` (pytest-benchmark JSON) is `TaskResult.to_extra_info()`:

    {"vlmq": {model, variant, task, dataset, device, baseline, run_id, samples, ...},
     "metrics": {name: {"value", "unit", "higher_is_better", "kind"}},
     "retention": {quality metric: variant / baseline},
     "thresholds": {quality metric: minimum retention},
     "gates": {gated metric: {"retention", "low", "high", "confidence", "threshold",
               "verdict" ("pass" | "fail" | "inconclusive"), "n", "min_detectable_drop",
               "samples_needed" (int or null), "method", "resamples", "seed"}},
     "quantized_linears": {part: {"linear", "quantized"}},
     "per_sample": {quality metric: [score per sample, in subset order]},
     "rounds_s": [latency of each timed batch, seconds],
     "sample_stats": {"index": [subset position of each scored sample], "group": [what each
                      shares with others, e.g. its image id, where the dataset names it], plus
                      what a corpus metric needs to be recomputed on a resample (caption tokens)},
     "notes": {...}}

`per_sample` and `rounds_s` let `vlmq compare` run significance tests from the JSON alone;
`gates` and `sample_stats` are absent from runs written before they existed (read as empty).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# kinds group metrics in tables and plots
KINDS = ("quality", "latency", "throughput", "memory", "size", "energy", "time", "limit")


@dataclass
class Measurement:
    name: str
    value: float | None  # None: not measured here (the reason goes in notes)
    unit: str
    higher_is_better: bool
    kind: str


@dataclass
class SampleRecord:
    """One sample's outcome for one model x variant x task; a line of records JSONL."""

    sample_id: str
    index: int  # position in the evaluated subset
    batch: int
    prompt: str | None
    prediction: Any  # text, or top-5 class indices for classification
    references: Any  # reference texts / answers, or the label
    latency_s: float | None  # this sample's share of its batch's latency
    new_tokens: int | None = None
    prefill_s: float | None = None  # time to first token of this sample's whole batch
    error: str | None = None  # set when the sample failed (corrupt image ...)
    prepare_s: float | None = None  # its share of decoding + preprocessing its batch
    input_wait_s: float | None = None  # its share of how long the model waited for the batch
    # seconds from the model call's start to each decoding step's logits; kept once per batch,
    # on its first record (None on the others and on older records)
    token_times_s: list[float] | None = None
    cpu_s: float | None = None  # its share of the process CPU time of its batch's model call
    # its share of how long the calling thread waited for a core during that call
    core_wait_s: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    # prompt tokens cut so that it fits the model's context (--vlmq-long-prompts truncate)
    truncated_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SampleRecord:
        return cls(**d)


@dataclass
class TaskResult:
    """Everything measured for one model x variant x task."""

    info: dict[str, Any]  # model, variant, task, dataset, device, baseline, run_id, samples ...
    metrics: dict[str, Measurement] = field(default_factory=dict)
    retention: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    quantized_linears: dict[str, dict[str, int]] = field(default_factory=dict)
    per_sample: dict[str, list[float]] = field(default_factory=dict)
    rounds_s: list[float] = field(default_factory=list)
    sample_stats: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, value: float | None, unit: str, higher_is_better: bool,
            kind: str) -> None:
        self.metrics[name] = Measurement(name, value, unit, higher_is_better, kind)

    def to_extra_info(self) -> dict[str, Any]:
        return {
            "vlmq": dict(self.info),
            "metrics": {k: asdict(m) for k, m in self.metrics.items()},
            "retention": dict(self.retention),
            "thresholds": dict(self.thresholds),
            "gates": dict(self.gates),
            "quantized_linears": dict(self.quantized_linears),
            "per_sample": dict(self.per_sample),
            "rounds_s": list(self.rounds_s),
            "sample_stats": dict(self.sample_stats),
            "notes": dict(self.notes),
        }

    @classmethod
    def from_extra_info(cls, d: dict[str, Any]) -> TaskResult:
        return cls(
            info=dict(d.get("vlmq", {})),
            metrics={k: Measurement(**m) for k, m in d.get("metrics", {}).items()},
            retention=dict(d.get("retention", {})),
            thresholds=dict(d.get("thresholds", {})),
            gates=dict(d.get("gates", {})),
            quantized_linears=dict(d.get("quantized_linears", {})),
            per_sample=dict(d.get("per_sample", {})),
            rounds_s=list(d.get("rounds_s", [])),
            sample_stats=dict(d.get("sample_stats", {})),
            notes=dict(d.get("notes", {})),
        )
