"""The run's settings: plain data with help text, read from YAML and overridden by options.

Building a RunConfig touches neither the environment nor the network.
Precedence (lowest first): field defaults, the YAML file, pytest.ini, command-line options.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vlmq.errors import VlmqError

# Default retention thresholds by the bit width a variant stores its weights in.
DEFAULT_THRESHOLDS_BY_BITS: dict[int, float] = {32: 0.99, 16: 0.99, 8: 0.97, 4: 0.90}


def _f(default: Any, help: str, value_type: type = str) -> Any:
    """A field with help text; `value_type` is the type of a dict field's values."""
    meta = {"help": help, "value_type": value_type}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class RunConfig:
    models: list[str] = _f(
        ["llava-tiny", "vit-tiny"],
        "models to benchmark: embedded zoo names, hub ids or local folders",
    )
    variants: list[str] = _f([], "quantization variants to run; empty = every registered one")
    tasks: list[str] = _f([], "tasks to run; empty = every task each model can do")
    datasets: dict[str, str] = _f(
        {}, "per-task dataset override: task -> hub id[:config][@split], folder or file"
    )
    samples: int = _f(128, "samples per task in the default (fast) run; -m slow uses all")
    device: str = _f("auto", "cpu, cuda, cuda:N or auto (cuda when available)")
    baseline: str = _f("auto", "baseline variant; auto = fp16 on CUDA, fp32 on CPU")
    baseline_model: str = _f(
        "", "model the baseline variant runs on; empty = each model itself. For a checkpoint "
        "saved quantized (variant as-saved): the full-precision model it was made from"
    )
    batch_size: int = _f(8, "samples per forward pass")
    max_new_tokens: int = _f(
        0, "greedy decoding length cap; 0 = the task's own (caption 64, as lmms-eval), else 32"
    )
    seed: int = _f(0, "seed of the sample subset and of torch")
    threads: int = _f(0, "torch CPU threads; 0 = all cores")
    warmup_rounds: int = _f(1, "untimed batches before timing (4-bit kernels repack on first use)")
    thresholds: dict[str, float] = _f(
        {},
        "retention thresholds: 'variant', 'variant:metric' or 'bits' (e.g. '8') -> minimum ratio",
        value_type=float,
    )
    gate: str = _f(
        "significant",
        "gate policy: significant (only a retention interval wholly under its threshold fails; "
        "inconclusive passes with a warning), strict (anything but pass fails), point (the "
        "point retention under the threshold fails)",
    )
    confidence: float = _f(0.95, "confidence of the retention intervals the gates judge")
    bootstrap_resamples: int = _f(2000, "paired bootstrap resamples per retention interval")
    device_map: str = _f(
        "", "spread each model over devices with accelerate: auto, balanced, balanced_low_0, "
        "sequential; empty = the whole model on --vlmq-device"
    )
    max_memory: dict[str, str] = _f(
        {}, "with a device map, the most each device may hold: 0=20GiB, cuda:1=30GiB, cpu=64GiB "
        "(what fits nowhere is offloaded to disk)"
    )
    attn_implementation: list[str] = _f(
        ["sdpa"], "attention implementations to parametrize over: sdpa, eager, flash_attention_2"
    )
    int8_threshold: float = _f(6.0, "bitsandbytes LLM.int8 outlier threshold (0 = no outliers)")
    bnb_4bit_compute_dtype: str = _f(
        "auto", "4-bit compute dtype: auto (float16 on CUDA, float32 on CPU), float32, bfloat16"
    )
    bnb_4bit_double_quant: bool = _f(True, "4-bit double quantization of the scales")
    energy: bool = _f(True, "measure energy with codecarbon (and NVML on NVIDIA GPUs)")
    country_iso_code: str = _f("USA", "country for codecarbon's offline carbon intensity")
    ocr_tokens: bool = _f(False, "append reference OCR tokens to TextVQA prompts")
    python_tokenizer: bool = _f(
        False, "score captions with the pure-Python PTB tokenizer even where Java is present"
    )
    spice: bool = _f(False, "also score SPICE (needs Stanford CoreNLP next to pycocoevalcap)")
    shard: str = _f(
        "", "K/N: run only the K-th of N deterministic parts of the model x variant list (for "
        "several machines); join the run folders with `vlmq merge`"
    )
    run_id: str = _f("", "run folder name under reports_dir; same id = resume; empty = new")
    reports_dir: str = _f("reports/runs", "where run folders are written")
    progress: bool = _f(True, "tqdm progress bars (always off when CI is set)")
    report: bool = _f(True, "write summary, plots, spot-check and report.md when the run ends")

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    def updated(self, values: dict[str, Any], source: str) -> RunConfig:
        """A copy with `values` applied; unknown keys and wrong types name `source`."""
        known = {f.name: f for f in dataclasses.fields(self)}
        out = dataclasses.replace(self)
        for key, value in values.items():
            name = key.replace("-", "_")
            if name not in known:
                close = [k for k in known if k.startswith(name[:4])]
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise VlmqError(f"{source}: unknown setting {key!r}.{hint}")
            setattr(out, name, _coerce(getattr(self, name), value, f"{source}: {key}",
                                       known[name].metadata["value_type"]))
        return out

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        p = Path(path)
        if not p.is_file():
            raise VlmqError(f"config file {str(p)!r} does not exist")
        try:
            data = yaml.safe_load(p.read_text()) or {}
        except yaml.YAMLError as exc:
            raise VlmqError(f"config file {str(p)!r} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise VlmqError(f"config file {str(p)!r} must hold a mapping of settings")
        return cls().updated(data, str(p))

    def threshold_for(self, variant: str, bits: int, metric: str) -> float:
        """The minimum retention for one metric of one variant."""
        for key in (f"{variant}:{metric}", variant, str(bits)):
            if key in self.thresholds:
                return float(self.thresholds[key])
        return DEFAULT_THRESHOLDS_BY_BITS.get(bits, 0.99)


def _coerce(current: Any, value: Any, where: str, value_type: type = str) -> Any:
    """Convert option text or YAML values to the type of the field's current value (and a
    dict's values to `value_type`)."""
    try:
        if isinstance(current, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            return bool(value)
        if isinstance(current, list):
            if isinstance(value, str):
                return [v.strip() for v in value.split(",") if v.strip()]
            return [str(v) for v in value]
        if isinstance(current, dict):
            if isinstance(value, str):
                value = parse_pairs(value.split(), where)
            if not isinstance(value, dict):
                raise ValueError(value)
            return {str(k): value_type(v) for k, v in value.items()}
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        expected = type(current).__name__
        raise VlmqError(f"{where}: cannot use {value!r} (expected {expected})") from None


def parse_pairs(items: list[str], where: str) -> dict[str, str]:
    """Parse ['a=1', 'b=x'] into {'a': '1', 'b': 'x'}."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise VlmqError(f"{where}: expected KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out
