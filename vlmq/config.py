"""The run's settings: plain data with help text, read from YAML and overridden by options.

Building a RunConfig touches neither the environment nor the network.
Precedence (lowest first): field defaults, the YAML file, pytest.ini, command-line options.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vlmq.attention import ATTENTION_IMPLEMENTATIONS
from vlmq.budget import Budget
from vlmq.devices import DEVICE_SPELLINGS, is_device_setting
from vlmq.errors import VlmqError
from vlmq.placement import DEVICE_MAPS, is_size
from vlmq.safe_yaml import load_yaml, shown
from vlmq.shard import is_shard
from vlmq.stats.gates import DEFAULT_GATE_POLICY, GATE_POLICIES
from vlmq.stats.sequential import AUTO
from vlmq.variants.settings import COMPUTE_DTYPES

# a run id names a folder and files inside it (the run lock, its .tmp files): well under the
# 255-byte name limit of common filesystems
MAX_RUN_ID = 128

# Default retention thresholds by the bit width a variant stores its weights in.
DEFAULT_THRESHOLDS_BY_BITS: dict[int, float] = {32: 0.99, 16: 0.99, 8: 0.97, 4: 0.90}


def _f(default: Any, help: str, value_type: type = str, *, expected: str = "",
       valid: Callable[[Any], bool] | None = None, words: tuple[str, ...] = (),
       results: bool = True) -> Any:
    """A field with help text and the rules its value must meet.

    value_type: the type of a dict field's values. expected: what a valid value looks like, for
    error messages. valid: a check of one value (of a list's or dict's items). words: strings a
    numeric field also takes (e.g. "auto"). results: False for settings that cannot change any
    measured or scored number (progress bars, where reports go); every other setting must be
    the same when a run is resumed (see `result_settings`).
    """
    meta = {"help": help, "value_type": value_type, "expected": expected, "valid": valid,
            "words": words, "results": results}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta)
    return field(default=default, metadata=meta)


def _at_least(low: float) -> Callable[[Any], bool]:
    return lambda v: math.isfinite(v) and v >= low


def _one_of(*choices: str) -> Callable[[Any], bool]:
    return lambda v: v in choices


def _non_empty(v: Any) -> bool:
    return bool(str(v).strip())


def _ratio(v: float) -> bool:
    return math.isfinite(v) and 0 <= v <= 1


# decode loops (vlmq.models.modes turns each into generate() options)
GENERATION_MODES = ("eager", "static", "compiled")


@dataclass
class RunConfig:
    models: list[str] = _f(
        ["llava-tiny", "vit-tiny"],
        "models to benchmark: embedded zoo names, hub ids or local folders",
        expected="one or more model names, hub ids or folders", valid=_non_empty, results=False,
    )
    variants: list[str] = _f([], "quantization variants to run; empty = one per backend and "
                             "precision (the recipes flagged by_default); all = every registered "
                             "one",
                             expected="variant names, e.g. fp32,int8,nf4", valid=_non_empty,
                             results=False)
    tasks: list[str] = _f([], "tasks to run; empty = every task each model can do",
                          expected="task names, e.g. caption,vqa", valid=_non_empty,
                          results=False)
    datasets: dict[str, str] = _f(
        {}, "per-task dataset override: task -> hub id[:config][@split], folder or file",
        expected="TASK=DATASET, e.g. vqa=data/my_vqa", valid=_non_empty,
    )
    samples: int | str = _f(
        128, "samples per task in the default (fast) run (0 = the whole split; auto = grow the "
        "subset in looks until every gate is decided, see auto_start); -m slow uses all",
        expected="a whole number >= 0 (0 = the whole split) or auto", valid=_at_least(0),
        words=(AUTO,),
    )
    auto_start: int = _f(128, "with samples auto: the first look's sample count (each next look "
                         "doubles it)", expected="a whole number >= 2", valid=_at_least(2))
    auto_looks: int = _f(4, "with samples auto: the most looks (each look's interval is at "
                         "confidence 1 - (1 - confidence) / looks)",
                         expected="a whole number >= 1", valid=_at_least(1))
    device: str = _f("auto", f"{DEVICE_SPELLINGS} (cuda when available)",
                     expected=DEVICE_SPELLINGS, valid=is_device_setting)
    baseline: str = _f("auto", "baseline variant; auto = fp16 on CUDA, fp32 on CPU",
                       expected="a variant name or auto", valid=_non_empty)
    baseline_model: str = _f(
        "", "model the baseline variant runs on; empty = each model itself. For a checkpoint "
        "saved quantized (variant as-saved): the full-precision model it was made from"
    )
    batch_size: int = _f(16, "samples per forward pass", expected="a whole number >= 1",
                         valid=_at_least(1))
    max_new_tokens: int = _f(
        0, "greedy decoding length cap; 0 = the task's own (caption 64, as lmms-eval), else 32",
        expected="a whole number >= 0 (0 = the task's own)", valid=_at_least(0),
    )
    long_prompts: str = _f(
        "fail", "a prompt (image tokens included) longer than the model's context minus the new "
        "tokens: fail (the sample fails with the reason) or truncate (its question is cut to "
        "fit; the record says how many tokens)", expected="fail or truncate",
        valid=_one_of("fail", "truncate"),
    )
    seed: int = _f(0, "seed of the sample subset and of torch", expected="a whole number >= 0",
                   valid=_at_least(0))
    threads: int = _f(0, "torch CPU threads; 0 = all cores",
                      expected="a whole number >= 0 (0 = all cores)", valid=_at_least(0))
    warmup_rounds: int = _f(1, "untimed batches before timing (4-bit kernels repack on first use)",
                            expected="a whole number >= 0", valid=_at_least(0))
    thresholds: dict[str, float] = _f(
        {},
        "retention thresholds: 'variant', 'variant:metric' or 'bits' (e.g. '8') -> minimum ratio",
        value_type=float, valid=_ratio,
        expected="a retention ratio in [0, 1], e.g. int8=0.97 (0 = never fail)",
    )
    gate: str = _f(
        DEFAULT_GATE_POLICY,
        "gate policy: significant (only a retention interval wholly under its threshold fails; "
        "inconclusive passes with a warning), strict (anything but pass fails), point (the "
        "point retention under the threshold fails)",
        expected=", ".join(GATE_POLICIES), valid=_one_of(*GATE_POLICIES),
        results=False,
    )
    budget: dict[str, str] = _f(
        {}, "deployment budget: max_memory_mib, max_latency_ratio, max_energy_ratio, tasks, "
        "models, rank_by (memory, latency or energy); the run's summary then names the variant "
        "that passes every gate and meets it (as `vlmq recommend` does)",
        expected="KEY=VALUE, e.g. max_memory_mib=8192 or rank_by=latency", valid=_non_empty,
        results=False,
    )
    confidence: float = _f(0.95, "confidence of the retention intervals the gates judge",
                           expected="a confidence between 0.5 and 1, e.g. 0.95",
                           valid=lambda v: 0.5 <= v < 1)
    bootstrap_resamples: int = _f(2000, "paired bootstrap resamples per retention interval",
                                  expected="a whole number >= 100", valid=_at_least(100))
    device_map: str = _f(
        "", "spread each model over devices with accelerate: auto, balanced, balanced_low_0, "
        "sequential; empty = the whole model on --vlmq-device",
        expected="auto, balanced, balanced_low_0, sequential or empty",
        valid=_one_of("", *DEVICE_MAPS),
    )
    max_memory: dict[str, str] = _f(
        {}, "the most each device may hold: 0=20GiB, cuda:1=30GiB, cpu=64GiB; a variant whose "
        "estimated peak exceeds its device's limit (default: available RAM, free GPU memory) is "
        "skipped before loading; with a device map, what fits nowhere is offloaded to disk",
        expected="DEVICE=SIZE, e.g. 0=20GiB or cpu=64GiB", valid=is_size,
    )
    attn_implementation: list[str] = _f(
        ["sdpa"], "attention implementations to parametrize over: "
        + ", ".join(ATTENTION_IMPLEMENTATIONS),
        expected=", ".join(ATTENTION_IMPLEMENTATIONS), valid=_one_of(*ATTENTION_IMPLEMENTATIONS),
        results=False,
    )
    generation: str = _f(
        "eager", "decode loop: eager (dynamic KV cache), static (static KV cache), compiled "
        "(static cache + torch.compile of the decode step; its compile time is reported apart)",
        expected=", ".join(GENERATION_MODES), valid=_one_of(*GENERATION_MODES),
    )
    kv_cache: list[str] = _f(
        ["full"], "KV cache settings to parametrize over: full (the model's dtype), int4, int2 "
        "(transformers' quantized cache, HQQ backend; each judged against the baseline's full "
        "cache)", expected="full, int4 or int2", valid=_one_of("full", "int4", "int2"),
    )
    fixed_new_tokens: bool = _f(
        False, "decode exactly max_new_tokens tokens (end-of-sequence ignored) so every variant "
        "decodes the same amount; always on for synthetic (random-weight) models"
    )
    int8_threshold: float = _f(6.0, "bitsandbytes LLM.int8 outlier threshold (0 = no outliers)",
                               expected="a number >= 0", valid=_at_least(0))
    bnb_4bit_compute_dtype: str = _f(
        "auto", "4-bit compute dtype: auto (float16 on CUDA, float32 on CPU), float32, bfloat16",
        expected=", ".join(COMPUTE_DTYPES), valid=_one_of(*COMPUTE_DTYPES),
    )
    bnb_4bit_double_quant: bool = _f(True, "4-bit double quantization of the scales")
    calibration: dict[str, str] = _f(
        {}, "calibrated variants: task -> dataset spec of a split apart from the evaluated ones "
        "(e.g. vqa=data/my_vqa@train); empty = each generative task's embedded train split",
        expected="TASK=DATASET, e.g. vqa=data/my_vqa@train", valid=_non_empty,
    )
    calibration_samples: int = _f(16, "calibrated variants: calibration samples in all, spread "
                                  "evenly over the calibration tasks",
                                  expected="a whole number >= 1", valid=_at_least(1))
    calibration_seed: int = _f(0, "calibrated variants: seed of the calibration draw and of the "
                               "calibrating library", expected="a whole number >= 0",
                               valid=_at_least(0))
    calibration_iters: int = _f(0, "calibrated variants: tuning iterations of iterative "
                                "recipes (AutoRound); 0 = the recipe's own",
                                expected="a whole number >= 0", valid=_at_least(0))
    energy: bool = _f(True, "measure energy with codecarbon (and NVML on NVIDIA GPUs)")
    country_iso_code: str = _f("USA", "country for codecarbon's offline carbon intensity",
                               expected="a 3-letter ISO code such as USA or FRA",
                               valid=lambda v: re.fullmatch(r"[A-Z]{3}", v) is not None)
    ocr_tokens: bool = _f(False, "append reference OCR tokens to TextVQA prompts")
    python_tokenizer: bool = _f(
        False, "score captions with the pure-Python PTB tokenizer even where Java is present"
    )
    spice: bool = _f(False, "also score SPICE (needs Stanford CoreNLP next to pycocoevalcap)")
    shard: str = _f(
        "", "K/N: run only the K-th of N deterministic parts of the model x variant list (for "
        "several machines); join the run folders with `vlmq merge`",
        expected="K/N with 1 <= K <= N, e.g. 2/4, or empty", valid=is_shard,
    )
    run_id: str = _f("", "run folder name under reports_dir; same id = resume; empty = new",
                     expected=f"at most {MAX_RUN_ID} letters, digits, '.', '_' or '-' "
                     "(empty = a new id)",
                     valid=lambda v: re.fullmatch(r"[A-Za-z0-9._-]*", v) is not None
                     and v.strip(".") != "" and len(v) <= MAX_RUN_ID or v == "",
                     results=False)
    reports_dir: str = _f("reports/runs", "where run folders are written",
                          expected="a folder path", valid=_non_empty, results=False)
    progress: bool = _f(True, "tqdm progress bars (always off when CI is set)", results=False)
    report: bool = _f(True, "write summary, plots, spot-check and report.md when the run ends",
                      results=False)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, _checked(f, getattr(self, f.name), f.name))
        Budget.from_mapping(self.budget)  # a misspelt key or a bad limit fails here

    @classmethod
    def help(cls) -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in dataclasses.fields(cls)}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    def updated(self, values: dict[str, Any], source: str, *, named: bool = False) -> RunConfig:
        """A copy with `values` applied; unknown keys and bad values name `source` (and the key,
        unless `named` says `source` names it already, as an option does)."""
        known = {f.name: f for f in dataclasses.fields(self)}
        out = dataclasses.replace(self)
        for key, value in values.items():
            name = str(key).replace("-", "_")
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise VlmqError(f"{source}: unknown setting {shown(key)}.{hint}")
            where = source if named else f"{source}: {key}"
            setattr(out, name, _checked(known[name], value, where))
        return out

    @classmethod
    def result_settings(cls) -> list[str]:
        """The settings a resumed run must share with the run it resumes: every field not
        marked `results=False`, so a new setting is checked unless it says it may change."""
        return [f.name for f in dataclasses.fields(cls) if f.metadata["results"]]

    @classmethod
    def from_yaml(cls, path: str | Path) -> RunConfig:
        p = Path(path)
        if not p.is_file():
            raise VlmqError(f"config file {str(p)!r} does not exist")
        try:
            data = load_yaml(p.read_text(), f"config file {str(p)!r}") or {}
        except yaml.YAMLError as exc:
            raise VlmqError(f"config file {str(p)!r} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise VlmqError(f"config file {str(p)!r} must hold a mapping of settings")
        return cls().updated(data, str(p))

    @property
    def auto_samples(self) -> bool:
        return self.samples == AUTO

    @property
    def first_samples(self) -> int:
        """The fast run's sample count (the first look's, with samples auto)."""
        return self.auto_start if self.auto_samples else int(self.samples)

    def threshold_for(self, variant: str, bits: int, metric: str) -> float:
        """The minimum retention for one metric of one variant."""
        for key in (f"{variant}:{metric}", variant, str(bits)):
            if key in self.thresholds:
                return float(self.thresholds[key])
        return DEFAULT_THRESHOLDS_BY_BITS.get(bits, 0.99)


def _checked(f: dataclasses.Field, value: Any, where: str) -> Any:
    """`value` converted to field `f`'s type and checked against its rules; a VlmqError naming
    `where`, the value and what is expected otherwise."""
    meta = f.metadata
    default = f.default_factory() if f.default is dataclasses.MISSING else f.default
    expected = meta["expected"] or ("on or off" if isinstance(default, bool) else "text")
    if isinstance(default, dict):
        if isinstance(value, str):
            value = parse_pairs(value.split(), where)
        if not isinstance(value, dict):
            raise VlmqError(f"{where}: {shown(value)} is not a mapping (expected {expected})")
        return {str(k): _one(meta["value_type"](), v, f"{where} {k}", meta, expected)
                for k, v in value.items()}
    if isinstance(default, list):
        items = [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) \
            else value if isinstance(value, (list, tuple)) else [value]
        if not items and default:
            raise VlmqError(f"{where}: an empty list is not allowed (expected {expected})")
        return [_one("", v, where, meta, expected) for v in items]
    return _one(default, value, where, meta, expected)


def _one(like: Any, value: Any, where: str, meta: Any, expected: str) -> Any:
    """One scalar value converted to the type of `like` and validated."""
    if isinstance(value, str) and value.strip() in meta["words"]:
        return value.strip()
    converted = _convert(like, value)
    if converted is None:
        raise VlmqError(f"{where}: {shown(value)} is not {_KIND[type(like)]} "
                        f"(expected {expected})")
    if meta["valid"] is not None and not meta["valid"](converted):
        problem = "is out of range" if isinstance(converted, (int, float)) else "is not allowed"
        raise VlmqError(f"{where}: {shown(value)} {problem} (expected {expected})")
    return converted


_KIND = {bool: "on/off", int: "a whole number", float: "a number", str: "text"}


def _convert(like: Any, value: Any) -> Any:
    """`value` as the type of `like` (option text or YAML values), or None when it is not."""
    if isinstance(like, bool):
        text = str(value).strip().lower()
        return True if text in ("1", "true", "yes", "on") else \
            False if text in ("0", "false", "no", "off") else None
    if isinstance(value, (bool, list, dict)) or value is None:
        return None  # YAML `true` or a list where a number or text is meant
    if isinstance(like, int):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return int(number) if math.isfinite(number) and number == int(number) else None
    if isinstance(like, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return str(value)


def parse_pairs(items: list[str], where: str) -> dict[str, str]:
    """Parse ['a=1', 'b=x'] into {'a': '1', 'b': 'x'}."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise VlmqError(f"{where}: expected KEY=VALUE, got {shown(item)}")
        out[key.strip()] = value.strip()
    return out
