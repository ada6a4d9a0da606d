"""Layer-wise sensitivity (seed 003): which layer of a part, kept in full precision, recovers
the most of the quality a quantized variant loses.

The sweep evaluates the baseline, the base variant (nothing kept), then the base variant with
one layer kept at a time (`BASE+keep=PART:i`, see `vlmq.variants.keep`). The result holds plain
numbers only, so reports read it without torch; loading and evaluating import it lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from vlmq.errors import VlmqError
from vlmq.metrics.base import retention

MIN_GAP = 0.01  # relative to the baseline score


@dataclass
class SweepPoint:
    variant: str  # the variant id evaluated, e.g. "nf4+keep=vision:3"
    layer: int | None  # kept layer index; None for the base variant (nothing kept)
    module: str | None  # module path of the kept layer
    score: float
    retention: float  # score relative to the baseline (1.0 = baseline quality)
    recovered: float | None  # share of the base variant's loss this choice wins back; None
    # when the base variant lost less than MIN_GAP of the baseline score (a ratio over a gap
    # that small is noise)


@dataclass
class SensitivitySweep:
    model: str
    part: str
    base_variant: str
    baseline_variant: str
    task: str
    metric: str
    higher_is_better: bool
    baseline_score: float
    points: list[SweepPoint] = field(default_factory=list)  # the base variant first

    @property
    def base(self) -> SweepPoint:
        return self.points[0]

    @property
    def layers(self) -> list[SweepPoint]:
        return self.points[1:]

    def best(self) -> SweepPoint | None:
        """The layer whose keeping helps most (None when the sweep kept no layer)."""
        if not self.layers:
            return None
        sign = 1 if self.higher_is_better else -1
        return max(self.layers, key=lambda p: sign * p.score)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SensitivitySweep:
        data = dict(d)
        data["points"] = [SweepPoint(**p) for p in d.get("points", [])]
        return cls(**data)


def sweep_variants(base_variant: str, part: str, n_layers: int) -> list[str]:
    """The base variant, then one variant per layer of `part` kept in full precision."""
    if "+" in base_variant:
        raise VlmqError(f"sensitivity: base variant {base_variant!r} already has a modifier; "
                        f"sweep a plain variant such as int8 or nf4")
    if n_layers < 1:
        raise VlmqError(f"sensitivity: the {part} part has no layers to sweep")
    return [base_variant] + [f"{base_variant}+keep={part}:{i}" for i in range(n_layers)]


def part_layers(model: str, part: str) -> list[str]:
    """Module paths of the layer stack of `part` in `model`, read from an empty-weights
    skeleton (nothing is loaded)."""
    from accelerate import init_empty_weights

    from vlmq.loading import adapter_for, read_config, resolve_source

    config = read_config(resolve_source(model))
    adapter = adapter_for(config)
    with init_empty_weights():
        skeleton = adapter.auto_class()._from_config(config)
    parts = adapter.resolve_parts(skeleton)
    if part not in parts:
        raise VlmqError(f"sensitivity: {adapter.family} models have no {part!r} part; "
                        f"use one of {', '.join(parts)}")
    return adapter.layer_paths(skeleton, part)


def run_sweep(
    model: str,
    base_variant: str,
    part: str,
    score: Callable[[str], float],
    *,
    baseline_variant: str,
    task: str,
    metric: str,
    higher_is_better: bool = True,
    layers: list[str] | None = None,
) -> SensitivitySweep:
    """Evaluate the baseline, the base variant and each layer-kept variant with `score`
    (variant id -> metric value), in that order, and say what each choice recovers."""
    layers = layers if layers is not None else part_layers(model, part)
    variants = sweep_variants(base_variant, part, len(layers))
    baseline = float(score(baseline_variant))
    sweep = SensitivitySweep(model=model, part=part, base_variant=base_variant,
                             baseline_variant=baseline_variant, task=task, metric=metric,
                             higher_is_better=higher_is_better, baseline_score=baseline)
    base_score: float | None = None
    for i, variant in enumerate(variants):
        value = float(score(variant))
        if base_score is None:
            base_score = value
        gap = baseline - base_score
        recoverable = abs(gap) > MIN_GAP * abs(baseline)
        sweep.points.append(SweepPoint(
            variant=variant, layer=None if i == 0 else i - 1,
            module=None if i == 0 else layers[i - 1], score=value,
            retention=retention(value, baseline, higher_is_better),
            recovered=(value - base_score) / gap if recoverable else None,
        ))
    return sweep


def sweep_session(session: Any, model: str) -> Any:
    """A BenchmarkSession for one model's sweep, storing under <run>/sensitivity/<model>/.

    Its own store keeps the sweep's variants (evaluated without memory or energy trackers)
    out of the run's benchmark results, whichever runs first; rerunning resumes it.
    """
    import dataclasses

    from vlmq.results.store import safe_name
    from vlmq.session import BenchmarkSession

    config = dataclasses.replace(
        session.config, reports_dir=str(session.store.root / "sensitivity"),
        run_id=safe_name(model), baseline=session.baseline,
    )
    return BenchmarkSession(config)


def session_scorer(session: Any, model: str, task: str, metric: str, attn: str = "sdpa"
                   ) -> Callable[[str], float]:
    """A `score` for run_sweep that evaluates through a BenchmarkSession: every variant's
    records and result land in that session's run folder (and resume with it)."""
    from vlmq.loading import unload
    from vlmq.session import Case

    def score(variant: str) -> float:
        case = Case(model, variant, attn)
        loaded = session.load(case)
        try:
            result = session.run(loaded, case, task, measure=False)
        finally:
            unload(loaded)
        value = result.metrics[metric].value
        if value is None:
            raise VlmqError(f"sensitivity: {model} {variant} on {task} has no {metric} value")
        return float(value)

    return score
