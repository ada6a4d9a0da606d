"""Synthetic checkpoints of the seed models: published shapes, random seeded weights.

Speed, memory, energy and size depend on the shapes, not on the values, so a folder written
here measures like the real checkpoint while quality means nothing: the config carries
`"vlmq_synthetic": true`, the folder a README card, and a run skips quality gates for it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from vlmq.errors import VlmqError
from vlmq.synth.specs import SPECS, SynthSpec, depth_rule

SYNTHETIC_KEY = "vlmq_synthetic"
DTYPES = ("float32", "float16", "bfloat16")


def is_synthetic(config: Any) -> bool:
    """True for a config written by `write_synthetic` (a transformers config or a dict)."""
    if isinstance(config, dict):
        return bool(config.get(SYNTHETIC_KEY))
    return bool(getattr(config, SYNTHETIC_KEY, False))


def write_synthetic(name: str, out: str | Path, *, layers: int | None = None,
                    depth_scale: float | None = None, seed: int = 0,
                    dtype: str | None = None) -> dict[str, Any]:
    """Write the synthetic checkpoint `name` into the folder `out`; returns what was written."""
    import torch
    import transformers
    from accelerate import init_empty_weights

    from vlmq.models.base import adapter_for
    from vlmq.synth.weights import write_random_weights

    spec = SPECS.get(name)
    dtype = dtype or spec.dtype
    if dtype not in DTYPES:
        raise VlmqError(f"synth: --dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    folder = Path(out)
    if folder.exists() and any(folder.iterdir()):
        raise VlmqError(f"synth: {str(folder)!r} is not empty; give a new or empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    config = spec.config(depth_rule(layers, depth_scale))
    config.dtype = dtype
    setattr(config, SYNTHETIC_KEY, True)
    adapter = adapter_for(config)
    cls = adapter.auto_class()
    with init_empty_weights():  # parameters on meta, buffers real
        skeleton = cls._from_config(config)
    skeleton.tie_weights()  # as from_pretrained does: a tied weight is stored once
    written = write_random_weights(skeleton, folder, getattr(torch, dtype), seed)
    config.architectures = [cls.__name__]  # as a hub checkpoint's config.json names it
    config.save_pretrained(folder)
    if adapter.kind == "generate":
        gen = transformers.GenerationConfig.from_model_config(config)
        gen.do_sample = False
        gen.save_pretrained(folder)
    spec.processor(config).save_pretrained(folder)
    facts = {"name": name, "source": spec.source, "dtype": dtype, "seed": seed,
             "layers": layers, "depth_scale": depth_scale, **written,
             "seconds": round(time.perf_counter() - start, 1)}
    (folder / "README.md").write_text(_card(spec, config, facts))
    return facts


def _card(spec: SynthSpec, config: Any, facts: dict[str, Any]) -> str:
    depth = ("published depth" if facts["layers"] is None and facts["depth_scale"] is None
             else f"reduced depth (layers={facts['layers']}, depth_scale={facts['depth_scale']})")
    return f"""# {spec.name}: SYNTHETIC weights (random, seeded)

The architecture of `{spec.source}` from its published config (widths, heads, vocabulary,
image rules), at {depth}, with RANDOM weights (seed {facts['seed']}, {facts['dtype']}).
Written by `python -m vlmq.synth {spec.name}` in {facts['seconds']} s:
{facts['parameters']:,} parameters, {facts['bytes']:,} bytes in {facts['shards']} shard(s).

Use it for speed, memory, energy and size only. Its outputs are noise: quality means
nothing, and vlmq skips quality gates for it (config `{SYNTHETIC_KEY}: true`).
The tokenizer keeps the published vocabulary size and special-token ids; its ordinary
tokens are the embedded llava-tiny BPE plus fillers. {spec.note}

```json
{json.dumps(facts, indent=1)}
```
Model type: `{config.model_type}`.
"""
