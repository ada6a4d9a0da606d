"""Load one model in one variant: the path every benchmark, test and the training check share.

A model name is an embedded zoo name, a local folder or a hub id; all of them go through the
same `from_pretrained` call of the family adapter, chosen from the config's `model_type`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmq.attention import check_attention, check_model_attention
from vlmq.checkpoint import checkpoint_bytes, streamed_reads, unquantized_dtype
from vlmq.devices import (
    DEVICE_SPELLINGS,
    device_type,
    dtype_name,
    is_cuda,
    is_device_setting,
)
from vlmq.errors import UnavailableError, VlmqError
from vlmq.fit import DoesNotFit, check_fit
from vlmq.measure import runqueue
from vlmq.measure.estimate import MemoryEstimate, Workload, encoder_patches, model_shape
from vlmq.measure.footprint import model_bytes
from vlmq.measure.hardware import decode_weight_bytes, image_patches
from vlmq.measure.memory import PeakMemory, large_frees_returned, running_mmap_threshold
from vlmq.models.base import (
    ClassificationOutput,
    GenerationOutput,
    ModelAdapter,
    ModelCall,
    adapter_for,
    read_config,
)
from vlmq.models.embedded import ZOO
from vlmq.placement import Placement, bytes_per_device
from vlmq.variants.base import Prepared, Variant, VariantSettings
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
    load_wait_s: float | None = None  # the loading thread's run-queue wait over that region
    machine_setup_s: float = 0.0  # the variant's per-machine one-time work at this load
    notes: dict[str, str] = field(default_factory=dict)
    bits: int = 0  # bits per weight of the quantized parts (the variant's, or the checkpoint's)
    placement: Placement | None = None  # owns a disk-offload folder when spread
    load_memory: Any = None  # a MemoryResult over loading, when the caller measured it
    calibration_s: float | None = None  # a calibrated recipe's calibration (0: cache reused)
    memory_estimate: MemoryEstimate | None = None  # vlmq.fit's estimate, made before loading
    # options for every generate call (generation mode, fixed token count; vlmq.models.modes)
    generate_options: dict[str, Any] = field(default_factory=dict)
    warmed_by: str = ""  # the first task this load ran: its first call warmed the load up
    # per call through `timed_call`, in order: its wall time (the first, the warm-up, absorbs
    # compilation) and its input tokens (the prefill's work)
    call_times_s: list[float] = field(default_factory=list)
    call_cpu_s: list[float | None] = field(default_factory=list)  # process CPU time per call
    call_wait_s: list[float | None] = field(default_factory=list)  # run-queue wait per call
    prompt_tokens: list[int] = field(default_factory=list)
    prompt_lengths: list[int] = field(default_factory=list)
    image_patches: list[int] = field(default_factory=list)  # the vision encoder's work per call

    def timed_call(self, inputs: Any, max_new_tokens: int) -> ModelCall:
        """The adapter's timed call on prepared inputs, with this model's generation options;
        the evaluation loop's only timed region."""
        call = self.adapter.timed_call(self.model, inputs, max_new_tokens, self.generate_options)
        self.call_times_s.append(call.seconds)
        self.call_cpu_s.append(call.cpu_s)
        self.call_wait_s.append(call.wait_s)
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


@dataclass
class _Plan:
    """What a load needs, resolved from the config and an empty skeleton before any weight is
    read: the recipe, the model's parts, the layers kept in full precision and the shape."""

    model: str
    variant_id: str
    variant: Variant
    dev: str
    source: str
    config: Any
    adapter: ModelAdapter
    cls: Any
    parts: dict[str, Any]
    kept: tuple[str, ...]
    unsupported: tuple[str, ...]
    shape: Any
    settings: VariantSettings

    @property
    def dev_type(self) -> str:
        return device_type(self.dev)


def _plan(model: str, variant_id: str, device: str, settings: VariantSettings,
          attn_implementation: str) -> _Plan:
    """Every check that needs no weights: the variant on this device and model, attention,
    the parts it quantizes, `keep=` and the layers its kernels cannot run."""
    from accelerate import init_empty_weights

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
    skeleton.tie_weights()  # a tied head is the embedding's storage: counted once in the estimate
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
    unsupported = tuple(variant.unsupported_layers(skeleton, parts, device_type(dev)))
    kept += unsupported
    shape = model_shape(skeleton, parts, config.get_text_config(), checkpoint_bytes(config),
                        getattr(config, "vision_config", None), lambda name: is_kept(name, kept))
    del skeleton
    settings = dataclasses.replace(settings, keep_modules=tuple(settings.keep_modules) + kept)
    return _Plan(model, variant_id, variant, dev, source, config, adapter, cls, parts, kept,
                 unsupported, shape, settings)


def _from_pretrained(plan: _Plan, placement: Placement, attn_implementation: str,
                     kwargs: dict[str, Any], device_map: str,
                     max_memory: dict[str, str] | None) -> tuple[Any, dict[str, Any]]:
    """The family's `from_pretrained`, reading the checkpoint tensor by tensor; running out of
    device memory, or a device map that leaves no room, is an UnavailableError (a skip)."""
    import torch

    what = f"{plan.model} as {plan.variant_id}"
    try:
        with streamed_reads():
            return plan.cls.from_pretrained(
                plan.source, attn_implementation=attn_implementation, output_loading_info=True,
                **placement.load_kwargs(), **kwargs
            )
    except torch.cuda.OutOfMemoryError as exc:
        placement.close()
        where = f"the devices of --vlmq-device-map {device_map}" if placement.spread else plan.dev
        raise UnavailableError(f"{what} does not fit on {where}: "
                               f"{' '.join(str(exc).split())[:200]}") from None
    except ValueError as exc:
        placement.close()
        if placement.spread:  # accelerate: the limits leave no room for some module
            raise UnavailableError(f"{what} cannot be placed with "
                                   f"--vlmq-device-map {device_map} and --vlmq-max-memory "
                                   f"{max_memory}: {' '.join(str(exc).split())[:200]}") from None
        raise


def _load_kwargs(plan: _Plan) -> tuple[dict[str, Any], dict[str, str]]:
    """The variant's `from_pretrained` arguments, and the notes on what loading keeps."""
    kwargs = plan.variant.load_kwargs(plan.parts, plan.settings, plan.dev_type)
    kwargs.update(plan.variant.config_load_kwargs(plan.config, plan.dev_type))
    notes = _keep_checkpoint_dtype(kwargs, plan.variant, plan.config, plan.dev_type)
    if plan.unsupported:
        notes["kept_for_shape"] = (
            f"{len(plan.unsupported)} Linear layers kept in full precision: "
            f"{plan.variant.name}'s kernels here cannot run their width "
            f"(e.g. {plan.unsupported[0]})")
    return kwargs, notes


def estimated_workload(plan: _Plan, workload: Workload | None) -> Workload:
    """The batch the estimate sizes, with what the model itself decides: the tiles its
    processor cuts an image into and, unless measured on the run's first batch, the prompt
    they make (where the family says); for a classifier, one pass over its patches and no
    cache."""
    work = dataclasses.replace(workload or Workload(),
                               image_tiles=plan.adapter.image_tiles(plan.source),
                               cross_tokens=plan.adapter.cross_attention_tokens(plan.config),
                               heap_threshold=running_mmap_threshold() or 0)
    if plan.adapter.kind == "generate":
        prompt = None if work.prompt_measured else plan.adapter.prompt_tokens(plan.source)
        return dataclasses.replace(work, prompt_tokens=prompt) if prompt else work
    return dataclasses.replace(work, prompt_tokens=encoder_patches(plan.config), new_tokens=0,
                               caches=False)


def _estimate(plan: _Plan, placement: Placement, dtype: Any, max_memory: dict[str, str] | None,
              workload: Workload | None) -> MemoryEstimate | None:
    """The memory estimate, refused (DoesNotFit) when over what the device has; none for a
    model spread with a device map (the map spreads what does not fit)."""
    if placement.spread:
        return None
    try:
        work = estimated_workload(plan, workload)
        return check_fit(plan.variant, plan.shape, plan.config, dtype, plan.dev, max_memory,
                         work, plan.settings)
    except DoesNotFit as exc:
        raise DoesNotFit(f"{plan.model} as {plan.variant_id}: {exc}") from None


def _checked_counts(plan: _Plan, loaded: Any, recipes: Any) -> dict[str, Any]:
    """Quantized Linear layers per part, refused when they contradict the variant."""
    import torch

    counts = count_linears(loaded, plan.parts, quantized_test(recipes))
    kept_linears = sum(1 for name, mod in loaded.named_modules()
                       if is_kept(name, plan.kept) and isinstance(mod, torch.nn.Linear))
    problem = plan.variant.check_counts(plan.variant_id, counts, kept=kept_linears)
    if problem:
        raise VlmqError(problem)
    return counts


def _result_notes(plan: _Plan, loaded: Any, placement: Placement, load_notes: dict[str, str],
                  prepared: Any) -> dict[str, str]:
    notes = {**load_notes, **(prepared.notes if prepared is not None else {})}
    kernel = plan.variant.kernel(plan.dev_type, dtype_name(loaded.dtype), plan.settings)
    if kernel:
        notes["kernel"] = kernel
    if placement.spread:
        notes["device_map"] = ", ".join(f"{d}: {b / 2**20:.1f} MiB" for d, b in
                                        sorted(bytes_per_device(loaded).items()))
    return notes


def _after_load(plan: _Plan, loaded: Any, loading_info: dict[str, Any], placement: Placement,
                prepared: Any) -> None:
    """Eval mode, the variant's check of what loaded, and its post-load quantization."""
    loaded.eval()
    problem = plan.variant.loading_problem(plan.variant_id, loading_info)
    if problem:
        placement.close()
        raise VlmqError(problem)
    plan.variant.post_load(loaded, plan.parts, plan.settings, plan.dev_type)
    if prepared is not None:
        plan.variant.apply_prepared(loaded, prepared)


def _disk_then_finish(plan: _Plan, loaded: Any, prepared: Any, measure: bool,
                      placement: Placement, memory: PeakMemory | None,
                      ) -> tuple[tuple[int | None, str], float, float]:
    """The saved variant's size on disk (or why it was not measured), then the variant's last
    step of loading (`finish_load`: the 4-bit CPU repack), in that order: saving puts a
    repacked weight back in the saved layout, lossily. The save is set aside from the load's
    `memory` (it is vlmq's measuring, not loading). Also the finish's wall and CPU seconds,
    which are loading's."""
    disk: tuple[int | None, str] = (None, "not measured" if not placement.spread
                                    else "not measured for a model spread with a device map")
    if measure:
        saved = prepared.folder if prepared is not None else plan.source
        with memory.aside() if memory is not None else contextlib.nullcontext():
            disk = plan.variant.disk_size(loaded, saved)
    start, cpu_start = time.perf_counter(), time.process_time()
    with large_frees_returned():
        plan.variant.finish_load(loaded, plan.dev_type)
    return disk, time.perf_counter() - start, time.process_time() - cpu_start


def _fit_and_prepare(plan: _Plan, placement: Placement, kwargs: dict[str, Any],
                     max_memory: dict[str, str] | None, workload: Workload | None,
                     after_preparing: Callable[[], Any] | None,
                     ) -> tuple[MemoryEstimate | None, Prepared | None]:
    """The memory estimate (refused when it does not fit), then the variant's preparation
    (calibration): a recipe whose calibration cannot fit is refused, not OOM-killed."""
    import torch

    estimate = _estimate(plan, placement, kwargs.get("dtype", torch.float32), max_memory,
                         workload)
    prepared = plan.variant.before_load(plan.source, plan.adapter, plan.settings)
    if after_preparing is not None:
        after_preparing()
    return estimate, prepared


def import_backend(variant_id: str, device: str) -> None:
    """Import the libraries `variant_id` quantizes with on `device`: their code and native
    kernels are the process's memory, not the model's, so a load measured next does not count
    them (the first bitsandbytes variant of a run did). The variant's own check that it can
    run here is what imports them; its answer is given again, as a skip, by the load."""
    VARIANTS.get(split_variant_id(variant_id)[0]).unavailable_reason(device_type(device))


def _placement(plan: _Plan, device_map: str, max_memory: dict[str, str] | None) -> Placement:
    placement = Placement(plan.dev, device_map, max_memory)
    if placement.spread and not plan.variant.spreads:
        raise UnavailableError(f"variant {plan.variant_id!r} quantizes after loading, so it "
                               f"cannot be spread over devices with a device map; run it "
                               f"without --vlmq-device-map")
    return placement


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
    memory: PeakMemory | None = None,
) -> LoadedModel:
    """Load `model` quantized as `variant_id` on `device` (or spread by accelerate's
    `device_map` under `max_memory`, see vlmq.placement), and check what it quantized.
    Refused (DoesNotFit) before loading when the memory estimate for `workload` exceeds what
    the device has (or `max_memory`'s limit for it; see vlmq.fit). The load's `memory`
    restarts once the variant is prepared (calibrated) and leaves out the disk-size save."""
    import torch

    # bitsandbytes logs a cast warning on every int8 forward and a hub-kernel notice on import
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    plan = _plan(model, variant_id, device, settings or VariantSettings(), attn_implementation)
    variant, dev = plan.variant, plan.dev
    placement = _placement(plan, device_map, max_memory)
    setup_start = time.perf_counter()
    variant.prepare_machine(plan.dev_type)
    machine_setup = time.perf_counter() - setup_start
    kwargs, load_notes = _load_kwargs(plan)
    memory_estimate, prepared = _fit_and_prepare(plan, placement, kwargs, max_memory, workload,
                                                 memory.restart if memory else None)
    wait_start = runqueue.waited_s()
    start, cpu_start = time.perf_counter(), time.process_time()
    with large_frees_returned():
        loaded, loading_info = _from_pretrained(plan, placement, attn_implementation, kwargs,
                                                device_map, max_memory)
        _after_load(plan, loaded, loading_info, placement, prepared)
    if is_cuda(dev):
        torch.cuda.synchronize(dev)
    load_time, load_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    load_wait = runqueue.since(wait_start)
    processor = plan.adapter.load_processor(plan.source)
    recipes = backends()
    counts = _checked_counts(plan, loaded, recipes)
    (disk, disk_note), finish_s, finish_cpu = _disk_then_finish(
        plan, loaded, prepared, measure_disk and not placement.spread, placement, memory)
    return LoadedModel(
        name=model, source=plan.source, variant_id=variant_id, variant=variant,
        adapter=plan.adapter, model=loaded, processor=processor, device=dev,
        attn_implementation=attn_implementation, parts=plan.parts, kept_modules=plan.kept,
        quantized_linears=counts, load_time_s=load_time + finish_s,
        load_cpu_s=load_cpu + finish_cpu,
        load_wait_s=load_wait, machine_setup_s=machine_setup,
        footprint_bytes=model_bytes(loaded, recipes),
        decode_bytes=decode_weight_bytes(loaded, plan.parts, recipes),
        disk_bytes=disk, disk_note=disk_note, bits=variant.checkpoint_bits(plan.config),
        notes=_result_notes(plan, loaded, placement, load_notes, prepared),
        placement=placement, memory_estimate=memory_estimate,
        calibration_s=None if prepared is None else prepared.calibration_s,
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
