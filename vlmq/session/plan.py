"""Which cases a run holds: the variants (the baseline first), each model's tasks and kind,
and this process's shard of them. Reads model configs only; loads nothing."""

from __future__ import annotations

import json
from pathlib import Path

from vlmq.config import RunConfig
from vlmq.errors import VlmqError
from vlmq.loading import adapter_for, get_variant, read_config, resolve_source
from vlmq.models.base import ADAPTERS
from vlmq.session.case import Case
from vlmq.shard import shard_items
from vlmq.tasks import TASKS
from vlmq.variants.keep import split_variant_id
from vlmq.variants.registry import chosen_variants


class Planner:
    def __init__(self, config: RunConfig, baseline: str) -> None:
        self.config = config
        self.baseline = baseline
        self._kinds: dict[str, str] = {}
        self._synthetic: dict[str, bool] = {}

    def variants(self) -> list[str]:
        """Variants to run, the baseline first (its scores are what the others are gated on)."""
        names = chosen_variants(self.config.variants)
        for name in names:
            get_variant(split_variant_id(name)[0])  # did-you-mean on a misspelt variant
        return [self.baseline] + [v for v in dict.fromkeys(names) if v != self.baseline]

    def model_kind(self, model: str) -> str:
        if model not in self._kinds:
            self._kinds[model] = adapter_for(read_config(resolve_source(model))).kind
        return self._kinds[model]

    def is_synthetic(self, model: str) -> bool:
        """True for a folder written by `python -m vlmq.synth` (random weights: speed only)."""
        if model not in self._synthetic:
            from vlmq.synth import is_synthetic

            self._synthetic[model] = is_synthetic(read_config(resolve_source(model)))
        return self._synthetic[model]

    def declared_kind(self, model: str) -> str | None:
        """The model's kind read from its folder's config.json alone, without importing
        transformers; None for a hub id, an unreadable config or an unknown model type."""
        try:
            path = Path(resolve_source(model)) / "config.json"
            model_type = json.loads(path.read_text()).get("model_type")
        except (VlmqError, OSError, ValueError):
            return None
        return ADAPTERS.get(model_type).kind if model_type in ADAPTERS else None

    def tasks_for(self, model: str) -> list[str]:
        """The tasks this model can do among those asked for (all of its kind by default)."""
        asked = self.config.tasks or TASKS.names()
        for name in asked:
            TASKS.get(name)
        kind = self.model_kind(model)
        return [t for t in asked if TASKS.get(t).kind == kind]

    def all_cases(self) -> list[Case]:
        """Every model x attention x variant; with a separate baseline model, its baseline
        cases come first and the models run only their other variants."""
        attns, base_model = self.config.attn_implementation, self.config.baseline_model
        cases = [Case(base_model, self.baseline, a) for a in attns] if base_model else []
        cases += [Case(m, v, a, kv) for m in self.config.models for a in attns
                  for v in self.variants() for kv in self.kv_settings(v)
                  if not (base_model and v == self.baseline and kv == "full")]
        return list(dict.fromkeys(cases))

    def kv_settings(self, variant: str) -> list[str]:
        """The KV cache settings a variant runs: the baseline always with its full cache, which
        every other setting is judged against."""
        asked = self.config.kv_cache
        return ["full", *(k for k in asked if k != "full")] if variant == self.baseline else asked

    def cases(self) -> list[Case]:
        """The cases this process runs: all of them, or its shard's part (--vlmq-shard)."""
        return shard_items(self.all_cases(), self.config.shard)

    def baseline_case(self, case: Case) -> Case:
        """The case whose scores `case` is judged against (with a full KV cache)."""
        return Case(self.config.baseline_model or case.model, self.baseline, case.attn)
