"""Load one model in one variant: the path every benchmark, test and the training check share.

A model name is an embedded zoo name, a local folder or a hub id; all of them go through the
same `from_pretrained` call of the family adapter, chosen from the config's `model_type`.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmq.attention import check_attention, check_model_attention
from vlmq.checkpoint import checkpoint_bytes, streamed_reads, unquantized_dtype
from vlmq.devices import DEVICE_SPELLINGS, device_type, is_cuda, is_device_setting
from vlmq.errors import UnavailableError, VlmqError
from vlmq.fit import DoesNotFit, check_fit
from vlmq.measure.estimate import MemoryEstimate, Workload, model_shape
from vlmq.measure.footprint import model_bytes
from vlmq.measure.hardware import decode_weight_bytes, image_patches
from vlmq.models.base import (
    ClassificationOutput,
    GenerationOutput,
    ModelAdapter,
    ModelCall,
    adapter_for,
    read_config,
)
from vlmq.placement import Placement, bytes_per_device
from vlmq.variants.base import Variant, VariantSettings
from vlmq.variants.inspect import count_linears, quantized_test
from vlmq.variants.keep import split_variant_id
from vlmq.variants.registry import VARIANTS, backends
from vlmq.variants.targets import is_kept


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; other values are checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not is_device_setting(device):
        raise VlmqError(f"device {device!r} is not supported: use {DEVICE_SPELLINGS}")
    if is_cuda(device) and not torch.cuda.is_available():
        raise UnavailableError(f"device {device!r} asked for, but torch sees no CUDA GPU here")
    return device


def default_baseline(device: str) -> str:
    """fp16 on CUDA; fp32 on CPU, where half precision matmuls are slow and not what ships."""
    return "fp16" if device_type(device) == "cuda" else "fp32"


def resolve_source(model: str) -> str:
    """An embedded zoo name or a local folder -> its path; anything else is a hub id that must
    be reachable (or already in the local cache)."""
    from vlmq.zoo import ZOO

    if model in ZOO:
        return str(ZOO[model])
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise VlmqError(f"model folder {model!r} has no config.json: pass a folder written by "
                            f"save_pretrained (or a hub snapshot)")
        return str(path)
    if model.count("/") != 1 or model.startswith((".", "/")):
        raise VlmqError(f"model {model!r} is not an embedded model ({', '.join(ZOO)}), "
                        f"an existing folder, nor a hub id (org/name)")
    return model


def get_variant(name: str) -> Variant:
    return VARIANTS.get(name)


@dataclass
class LoadedModel:
    """A model loaded in one variant, with what loading it measured."""

    name: str  # what the user asked for (zoo name, folder or hub id)
    source: str
    variant_id: str  # the variant with its modifiers, e.g. "nf4+keep=text:0"
    variant: Variant
    adapter: ModelAdapter
    model: Any
    processor: Any
    device: str
    attn_implementation: str
    parts: dict[str, list[str]]
    kept_modules: tuple[str, ...]
    quantized_linears: dict[str, dict[str, int]]
    load_time_s: float
    footprint_bytes: int
    decode_bytes: int  # what a decode step reads (vlmq.measure.hardware.decode_weight_bytes)
    disk_bytes: int | None
    disk_note: str = ""
    load_cpu_s: float | None = None  # process CPU time over the same region as load_time_s
    machine_setup_s: float = 0.0  # the variant's per-machine one-time work at this load
    notes: dict[str, str] = field(default_factory=dict)
    bits: int = 0  # bits per weight of the quantized parts (the variant's, or the checkpoint's)
    placement: Placement | None = None  # owns a disk-offload folder when spread
    load_memory: Any = None  # a MemoryResult over loading, when the caller measured it
    calibration_s: float | None = None  # a calibrated recipe's calibration (0: cache reused)
    memory_estimate: MemoryEstimate | None = None  # vlmq.fit's estimate, made before loading
    # options for every generate call (generation mode, fixed token count; vlmq.models.modes)
    generate_options: dict[str, Any] = field(default_factory=dict)
    # per call through `timed_call`, in order: its wall time (the first, the warm-up, absorbs
    # compilation) and its input tokens (the prefill's work)
    call_times_s: list[float] = field(default_factory=list)
    call_cpu_s: list[float | None] = field(default_factory=list)  # process CPU time per call
    prompt_tokens: list[int] = field(default_factory=list)
    prompt_lengths: list[int] = field(default_factory=list)
    image_patches: list[int] = field(default_factory=list)  # the vision encoder's work per call

    def timed_call(self, inputs: Any, max_new_tokens: int) -> ModelCall:
        """The adapter's timed call on prepared inputs, with this model's generation options;
        the evaluation loop's only timed region."""
        call = self.adapter.timed_call(self.model, inputs, max_new_tokens, self.generate_options)
        self.call_times_s.append(call.seconds)
        self.call_cpu_s.append(call.cpu_s)
        self.prompt_tokens.append(self.adapter.input_tokens(inputs))
        if hasattr(self.adapter, "prompt_length"):  # generative: the batch's padded prompt
            self.prompt_lengths.append(self.adapter.prompt_length(inputs))
        self.image_patches.append(image_patches(inputs, self.model.config))
        return call

    def generate(self, images: list[Any], prompts: list[str], max_new_tokens: int
                 ) -> GenerationOutput:
        return self.adapter.generate(self.model, self.processor, images, prompts, max_new_tokens,
                                     options=self.generate_options)

    def classify(self, images: list[Any]) -> ClassificationOutput:
        return self.adapter.classify(self.model, self.processor, images)

    def structure(self) -> str:
        """The module tree, as seed 000 kept it next to its results."""
        return str(self.model)


def load_variant(
    model: str,
    variant_id: str,
    *,
    device: str = "cpu",
    settings: VariantSettings | None = None,
    attn_implementation: str = "sdpa",
    measure_disk: bool = True,
    device_map: str = "",
    max_memory: dict[str, str] | None = None,
    workload: Workload | None = None,
) -> LoadedModel:
    """Load `model` quantized as `variant_id` on `device` (or spread by accelerate's
    `device_map` under `max_memory`, see vlmq.placement), and check what it quantized.
    Refused (DoesNotFit) before loading when the memory estimate for `workload` exceeds what
    the device has (or `max_memory`'s limit for it; see vlmq.fit)."""
    import torch
    from accelerate import init_empty_weights

    # bitsandbytes logs a cast warning on every int8 forward and a hub-kernel notice on import
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    settings = settings or VariantSettings()
    base_name, keep = split_variant_id(variant_id)
    variant = get_variant(base_name)
    dev = resolve_device(device)
    reason = variant.unavailable_reason(device_type(dev))
    if reason:
        raise UnavailableError(reason)
    check_attention(attn_implementation, dev)
    source = resolve_source(model)
    config = read_config(source)
    reason = variant.model_unavailable_reason(config)
    if reason:
        raise UnavailableError(f"{model}: {reason}")
    adapter = adapter_for(config)
    cls = adapter.auto_class()
    check_model_attention(cls, attn_implementation)

    with init_empty_weights():
        skeleton = cls._from_config(config)
    parts = adapter.resolve_parts(skeleton)
    # A family may lack some parts (ViT has no text model, BLIP no projector): a variant
    # applies to the parts it names that the model has, and is unavailable only when none.
    if variant.quantizes and not any(p in parts for p in variant.quantizes):
        raise UnavailableError(f"variant {variant_id!r} quantizes the "
                               f"{'/'.join(variant.quantizes)} part, which {adapter.family} "
                               f"models do not have")
    kept: tuple[str, ...] = ()
    if keep is not None:
        if keep.part not in variant.quantizes:
            raise VlmqError(f"variant {variant_id!r}: keep= names the {keep.part!r} part, which "
                            f"{base_name!r} does not quantize")
        kept = keep.resolve(adapter.layer_paths(skeleton, keep.part))
    unsupported = variant.unsupported_layers(skeleton, parts, device_type(dev))
    kept += tuple(unsupported)
    shape = model_shape(skeleton, parts, config.get_text_config(), checkpoint_bytes(config))
    del skeleton
    settings = dataclasses.replace(settings, keep_modules=tuple(settings.keep_modules) + kept)

    placement = Placement(dev, device_map, max_memory)
    if placement.spread and not variant.spreads:
        raise UnavailableError(f"variant {variant_id!r} quantizes after loading, so it cannot be "
                               f"spread over devices with a device map; run it without "
                               f"--vlmq-device-map")
    setup_start = time.perf_counter()
    variant.prepare_machine(device_type(dev))
    machine_setup = time.perf_counter() - setup_start
    prepared = variant.before_load(source, adapter, settings)  # calibration: not load time
    start, cpu_start = time.perf_counter(), time.process_time()
    kwargs = variant.load_kwargs(parts, settings, device_type(dev))
    kwargs.update(variant.config_load_kwargs(config, device_type(dev)))
    load_notes = _keep_checkpoint_dtype(kwargs, variant, config, device_type(dev))
    if unsupported:
        load_notes["kept_for_shape"] = (
            f"{len(unsupported)} Linear layers kept in full precision: {variant.name}'s kernels "
            f"here cannot run their width (e.g. {unsupported[0]})")
    memory_estimate = None
    if not placement.spread:  # a device map spreads what does not fit: nothing to refuse
        try:
            memory_estimate = check_fit(variant, shape, config, kwargs.get("dtype", torch.float32),
                                        dev, max_memory, workload or Workload())
        except DoesNotFit as exc:
            raise DoesNotFit(f"{model} as {variant_id}: {exc}") from None
    try:
        with streamed_reads():
            loaded, loading_info = cls.from_pretrained(
                source, attn_implementation=attn_implementation, output_loading_info=True,
                **placement.load_kwargs(), **kwargs
            )
    except torch.cuda.OutOfMemoryError as exc:
        placement.close()
        where = f"the devices of --vlmq-device-map {device_map}" if placement.spread else dev
        raise UnavailableError(f"{model} as {variant_id} does not fit on {where}: "
                               f"{' '.join(str(exc).split())[:200]}") from None
    except ValueError as exc:
        placement.close()
        if placement.spread:  # accelerate: the limits leave no room for some module
            raise UnavailableError(f"{model} as {variant_id} cannot be placed with "
                                   f"--vlmq-device-map {device_map} and --vlmq-max-memory "
                                   f"{max_memory}: {' '.join(str(exc).split())[:200]}") from None
        raise
    loaded.eval()
    problem = variant.loading_problem(variant_id, loading_info)
    if problem:
        placement.close()
        raise VlmqError(problem)
    variant.post_load(loaded, parts, settings, device_type(dev))
    if prepared is not None:
        variant.apply_prepared(loaded, prepared)
    if is_cuda(dev):
        torch.cuda.synchronize(dev)
    load_time, load_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    processor = adapter.load_processor(source)

    recipes = backends()
    counts = count_linears(loaded, parts, quantized_test(recipes))
    kept_linears = sum(1 for name, mod in loaded.named_modules()
                       if is_kept(name, kept) and isinstance(mod, torch.nn.Linear))
    problem = variant.check_counts(variant_id, counts, kept=kept_linears)
    if problem:
        raise VlmqError(problem)

    saved = prepared.folder if prepared is not None else source
    disk, disk_note = (variant.disk_size(loaded, saved) if measure_disk and not placement.spread
                       else (None, "not measured" if not placement.spread
                             else "not measured for a model spread with a device map"))
    notes = {**load_notes, **(prepared.notes if prepared is not None else {})}
    kernel = variant.kernel(device_type(dev))
    if kernel:
        notes["kernel"] = kernel
    if placement.spread:
        notes["device_map"] = ", ".join(f"{d}: {b / 2**20:.1f} MiB" for d, b in
                                        sorted(bytes_per_device(loaded).items()))
    return LoadedModel(
        name=model, source=source, variant_id=variant_id, variant=variant, adapter=adapter,
        model=loaded, processor=processor, device=dev, attn_implementation=attn_implementation,
        parts=parts, kept_modules=kept, quantized_linears=counts, load_time_s=load_time,
        load_cpu_s=load_cpu, machine_setup_s=machine_setup,
        footprint_bytes=model_bytes(loaded, recipes),
        decode_bytes=decode_weight_bytes(loaded, parts, recipes),
        disk_bytes=disk, disk_note=disk_note,
        bits=variant.checkpoint_bits(config), notes=notes, placement=placement,
        calibration_s=None if prepared is None else prepared.calibration_s,
        memory_estimate=memory_estimate,
    )


def _keep_checkpoint_dtype(kwargs: dict[str, Any], variant: Variant, config: Any,
                           dev_type: str) -> dict[str, str]:
    """A quantizing variant loads what it leaves alone in a 16-bit checkpoint's own dtype, not
    upcast to float32 (vlmq.checkpoint); returns the note saying so, if it did."""
    import torch

    half = unquantized_dtype(config, dev_type)
    if not variant.quantizes or half is None or kwargs.get("dtype") != torch.float32:
        return {}
    kwargs["dtype"] = getattr(torch, half)
    return {"unquantized_dtype": f"{half} (the checkpoint's 16-bit dtype, not float32)"}


def unload(loaded: LoadedModel | None) -> None:
    """Free a model before the next one loads (one model in memory at a time)."""
    import torch

    if loaded is not None:
        loaded.model = None
        loaded.processor = None
        if loaded.placement is not None:
            loaded.placement.close()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
