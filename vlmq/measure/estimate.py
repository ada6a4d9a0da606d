"""How much memory a variant will need, estimated from the model's shape before it loads.

The estimate is the memory the model adds to the process (what `load_peak_memory_mib` and
`model_peak_memory_mib` measure), the larger of two moments:
- loading: the weights as they end up (quantized Linear weights at the variant's bits plus its
  scales, everything else in the dtype it loads in), plus the transit: for a quantizer applied
  while loading, the largest tensor being read, cast and quantized; for one applied after
  loading (torchao, HQQ, quanto), the whole model in full precision first;
- running: the weights plus the batch's KV cache (prompt, image tokens and new tokens, every
  layer), activations (the widest layer's, attention scores included) and what the quantized
  kernel holds while its widest layer runs (`KernelTransit`: int32 accumulators, float32
  rescales and casts per token, a dequantized copy of the weight), and what glibc's heap keeps
  of each layer's temporaries when the kernel keeps a block from every call (`_kept_heap`).
It is checked against what the device has (`fits`): available RAM, free GPU memory, or the
user's `--vlmq-max-memory`. Torch-free: the shape is counted from a meta-device skeleton by
duck typing, the numbers are plain arithmetic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vlmq.kvcache import cached_tokens, kv_token_elements

MIB = 2**20
# Bytes per element a load-time quantizer holds while quantizing one weight: the weight read in
# its checkpoint dtype, a float32 copy, the scaled copy, the int32 bucket indices and the packed
# result (bitsandbytes' CPU nf4; fp4 holds more, `Variant.quantize_transit`; others less).
QUANTIZE_TRANSIT_BYTES = 2 + 4 + 4 + 4 + 1
# Bytes per token and layer of the activations a forward keeps alive at once, in units of
# (hidden + intermediate) x the activation dtype's bytes: residual, normed input, q/k/v/o, the
# MLP's two projections and their product.
ACTIVATION_WIDTHS = 4


def element_bytes(dtype: str) -> int:
    """Bytes per element of a floating activation dtype named as torch names it: 4 for
    float32, 2 for the 16-bit ones (bfloat16, float16)."""
    return 4 if dtype == "float32" else 2


@dataclass(frozen=True)
class KernelTransit:
    """What a quantized Linear's kernel holds while one call runs on a device, in bytes: per
    input and per output feature of every token (casts, int8 copies, the int32 accumulator and
    float32 rescale; per output the output itself included, so a fused kernel's is no more
    than the activation dtype's bytes, which the activations already count), per element of
    its weight (a copy dequantized per call); and the bits per quantized weight its layout
    adds for good (a CPU repacking's larger scales, part of the loaded weights). Each backend
    states its own (`Variant.kernel_transit`), read from the library's code and measured on one
    layer or a stack of them (docs/real-scale.md)."""

    per_input: float = 0.0
    per_output: float = 0.0
    per_weight: float = 0.0
    extra_bits: float = 0.0
    # bytes per token and input feature of each temporary a call makes before the small block
    # it keeps until its next call (LLM.int8's outlier columns): see `_kept_heap`
    before_kept: tuple[float, ...] = ()


@dataclass(frozen=True)
class ModelShape:
    """What the estimate needs of a model, counted once from its skeleton and config."""

    part_params: dict[str, int]  # parameters per part (vision, projector, text, head, other)
    part_linear_params: dict[str, int]  # of those, in Linear weights (what quantizers replace)
    largest_linear: dict[str, int]  # elements of the largest Linear weight, per part
    largest_tensor: int  # elements of the largest parameter of any kind
    checkpoint_bytes: float  # bytes per parameter in the checkpoint (2 for float16)
    # (in, out) features of every distinct Linear shape, per part (the kernels' per-token terms)
    linear_shapes: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    kv_token_elements: int = 0  # language model: one cached token's keys and values, widths
    hidden: int = 0
    intermediate: int = 0
    heads: int = 0
    # vision encoder: patches of one image tile, widths and heads (0: no term)
    vision_patches: int = 0
    vision_width: int = 0
    vision_heads: int = 0
    part_layers: dict[str, int] = field(default_factory=dict)  # repeated blocks per part
    # the input width most of a part's Linear layers take (attention and MLP up-projections)
    common_input: dict[str, int] = field(default_factory=dict)

    @property
    def params(self) -> int:
        return sum(self.part_params.values())


@dataclass(frozen=True)
class Workload:
    """The batch a task runs: images, prompt tokens (image tokens included) and new tokens."""

    batch: int = 1
    prompt_tokens: int = 640
    new_tokens: int = 32
    image_tiles: int = 1  # tiles the processor cuts each image into (SmolVLM: up to 17)
    caches: bool = True  # generates, keeping a KV cache (a classifier does not)
    prompt_measured: bool = False  # prompt_tokens is the run's first batch's, not assumed
    cross_tokens: int = 0  # image tokens the text part cross-attends to (BLIP), per sample
    # glibc's mmap threshold while running: temporaries under it come from the heap
    heap_threshold: int = 32 * MIB


@dataclass(frozen=True)
class VariantCost:
    """A variant's memory facts: bits (and scale bits) per quantized weight, the parts it
    quantizes, bytes per element of everything else, and when it quantizes."""

    name: str
    bits: float  # of a quantized weight, scales included; 0: nothing quantized
    quantizes: tuple[str, ...]
    base_bytes: int  # bytes per element of what it does not quantize (and of activations)
    after_load: bool  # quantizes after a full-precision load (torchao, HQQ, quanto)
    # loading converts the checkpoint's tensors to another dtype (float32 -> bfloat16 ...)
    casts: bool = True
    # bytes per element of the largest weight a load-time quantizer holds while quantizing it
    quantize_bytes: float = QUANTIZE_TRANSIT_BYTES
    kernel: KernelTransit = field(default_factory=KernelTransit)
    calibrates: bool = False  # calibrates the full-precision model first (AutoRound, GPTQ ...)


@dataclass(frozen=True)
class MemoryEstimate:
    variant: str
    weights_bytes: int  # the loaded model at rest
    load_peak_bytes: int  # weights + loading's transit
    run_peak_bytes: int  # weights + KV cache + activations
    parts: dict[str, int] = field(default_factory=dict)  # weight bytes per part
    # calibrating first: the float32 model and a forward's activations, before the variant
    # loads (in its own process for llm-compressor), so not part of what the entry measures
    calibration_bytes: int = 0

    @property
    def peak_bytes(self) -> int:
        return max(self.load_peak_bytes, self.run_peak_bytes)

    @property
    def needed_bytes(self) -> int:
        """What the machine must hold at some point: the peak, or calibration's if larger."""
        return max(self.peak_bytes, self.calibration_bytes)

    @property
    def peak_mib(self) -> float:
        return self.peak_bytes / MIB

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "peak_bytes": self.peak_bytes}


def model_shape(skeleton: Any, parts: dict[str, list[str]], text_config: Any,
                checkpoint_bytes: float, vision_config: Any = None,
                kept: Callable[[str], bool] | None = None) -> ModelShape:
    """Count a (meta-device) model's parameters per part; a Linear is any module with
    `in_features` and `out_features` (duck typing keeps this free of torch). A Linear that
    `kept` names (a variant's keep= and the layers whose shape its kernels cannot run) stays in
    full precision, so it counts as the part's other parameters do (Qwen2.5-VL-3B nf4 keeps 96
    of its 162 vision Linear layers: 590 MiB the estimate had at 4 bits)."""
    owner = {path: part for part, paths in parts.items() for path in paths}
    linear_weights = {f"{name}.weight": (m.in_features, m.out_features)
                      for name, m in skeleton.named_modules()
                      if hasattr(m, "in_features") and hasattr(m, "out_features")
                      and not (kept is not None and kept(name))}
    per_part: dict[str, int] = {}
    per_part_linear: dict[str, int] = {}
    largest_linear: dict[str, int] = {}
    shapes: dict[str, set[tuple[int, int]]] = {}
    blocks: dict[str, set[str]] = {}
    inputs: dict[str, Counter[int]] = {}
    largest = 0
    for name, p in skeleton.named_parameters():
        part = next((owner[path] for path in owner
                     if name == path or name.startswith(path + ".")), "other")
        n = p.numel()
        per_part[part] = per_part.get(part, 0) + n
        largest = max(largest, n)
        if name in linear_weights:
            per_part_linear[part] = per_part_linear.get(part, 0) + n
            largest_linear[part] = max(largest_linear.get(part, 0), n)
            shapes.setdefault(part, set()).add(linear_weights[name])
            blocks.setdefault(part, set()).add(_block(name))
            inputs.setdefault(part, Counter())[linear_weights[name][0]] += 1
    tc = text_config
    heads = getattr(tc, "num_attention_heads", 0) or 0
    return ModelShape(
        part_params=per_part, part_linear_params=per_part_linear, largest_linear=largest_linear,
        largest_tensor=largest, checkpoint_bytes=checkpoint_bytes,
        linear_shapes={part: tuple(sorted(s)) for part, s in shapes.items()},
        part_layers={part: len(b) for part, b in blocks.items()},
        common_input={part: c.most_common(1)[0][0] for part, c in inputs.items()},
        kv_token_elements=kv_token_elements(tc), hidden=getattr(tc, "hidden_size", 0) or 0,
        intermediate=getattr(tc, "intermediate_size", 0) or 0, heads=heads,
        **_vision_shape(vision_config),
    )


def _block(parameter: str) -> str:
    """The repeated block a parameter belongs to: its path up to the first numbered module
    (`...encoder.layers.3`), or "" outside any (one block for the part)."""
    names = parameter.split(".")
    first = next((i for i, n in enumerate(names) if n.isdigit()), None)
    return "" if first is None else ".".join(names[:first + 1])


def encoder_patches(config: Any) -> int:
    """Patches a vision encoder's config takes from one image (a classifier's whole input,
    its class token aside); 0 for a config without a fixed image size."""
    return _vision_shape(config).get("vision_patches", 0)


def _vision_shape(vc: Any) -> dict[str, int]:
    """A vision encoder's patches per tile (square images of `image_size`), the width of its
    residual plus MLP, and its heads; nothing for encoders without a fixed image size."""
    size, patch = getattr(vc, "image_size", 0) or 0, getattr(vc, "patch_size", 0) or 0
    if not isinstance(size, int) or not isinstance(patch, int) or not size or not patch:
        return {}
    return {"vision_patches": (size // patch) ** 2,
            "vision_width": (getattr(vc, "hidden_size", 0) or 0)
            + (getattr(vc, "intermediate_size", 0) or 0),
            "vision_heads": getattr(vc, "num_attention_heads", 0) or 0}


def estimate(shape: ModelShape, cost: VariantCost, work: Workload) -> MemoryEstimate:
    """The variant's weights, its load-time peak and its run-time peak, in bytes."""
    parts = {}
    for part, n in shape.part_params.items():
        quantized = shape.part_linear_params.get(part, 0) if part in cost.quantizes else 0
        parts[part] = int(quantized * (cost.bits + cost.kernel.extra_bits) / 8
                          + (n - quantized) * cost.base_bytes)
    weights = sum(parts.values())
    quantized = max((n for part, n in shape.largest_linear.items() if part in cost.quantizes),
                    default=0)
    # A tensor read in the dtype it loads in becomes the parameter itself; a cast holds the
    # tensor as read beside its converted copy (the parameter) until the copy is made.
    read = int(shape.largest_tensor * shape.checkpoint_bytes) if cost.casts else 0
    if cost.after_load:
        transit = shape.params * cost.base_bytes - weights + quantized * cost.base_bytes
    else:
        transit = max(int(quantized * cost.quantize_bytes), read)
    kv = int(work.batch * shape.kv_token_elements * cost.base_bytes
             * cached_tokens(work.prompt_tokens + work.cross_tokens, work.new_tokens)
             ) if work.caches else 0
    activations = work.batch * max(
        work.prompt_tokens * ACTIVATION_WIDTHS * (shape.hidden + shape.intermediate)
        * cost.base_bytes
        + shape.heads * work.prompt_tokens**2 * 4,  # one layer's attention scores, float32
        _vision_activations(shape, work.image_tiles, cost.base_bytes))
    # calibration loads the model in float32 and runs it on one sample at a time
    calibration = (shape.params * 4 + activations * 4 // cost.base_bytes
                   if cost.calibrates else 0)
    return MemoryEstimate(variant=cost.name, weights_bytes=weights,
                          load_peak_bytes=weights + max(0, transit),
                          run_peak_bytes=weights + kv + activations
                          + _kernel_transit(shape, cost, work) + _kept_heap(shape, cost, work),
                          parts=parts,
                          calibration_bytes=calibration)


def _kernel_transit(shape: ModelShape, cost: VariantCost, work: Workload) -> int:
    """What the quantized kernel holds beyond a dense layer's output while its most demanding
    Linear runs: per token of the inputs its part takes at once (every tile of an image for
    the vision encoder, the prompt for the rest), plus its per-call copy of the weight."""
    k = cost.kernel
    worst = 0.0
    for part in cost.quantizes:
        tokens = _part_tokens(shape, work, part)
        for n_in, n_out in shape.linear_shapes.get(part, ()):
            per_token = k.per_input * n_in + max(0.0, k.per_output - cost.base_bytes) * n_out
            worst = max(worst, tokens * per_token + k.per_weight * n_in * n_out)
    return int(worst)


def _part_tokens(shape: ModelShape, work: Workload, part: str) -> int:
    """Tokens a part's Linear layers take in one call: every tile of the batch's images for
    the vision encoder, the prompt (or the image tokens it cross-attends to) for the rest."""
    if part == "vision" and shape.vision_patches:
        return work.batch * work.image_tiles * shape.vision_patches
    return work.batch * max(work.prompt_tokens, work.cross_tokens)


def _kept_heap(shape: ModelShape, cost: VariantCost, work: Workload) -> int:
    """What glibc's heap keeps of a kernel that keeps a small block from each call until its
    next (LLM.int8 keeps its outlier columns on the layer, an empty tensor when there are
    none). The block is allocated after the call's first temporaries; those the heap serves
    (each under the mmap threshold) are freed around it, so their hole no longer fits a call
    of the same size, and the next one extends the heap. One such set per layer, at the input
    width most of its calls take, stays: SmolVLM-256M's vision tower over 17 tiles grew the
    heap by 88 MiB a layer against 64 counted, and its call by 2,051 MiB with the blocks kept,
    1,272 with them dropped after each call
    (reports/cpu/real-scale/kernel-transit/retention.md)."""
    kept = 0
    for part in cost.quantizes:
        tokens = _part_tokens(shape, work, part)
        width = shape.common_input.get(part, 0)
        kept += int(sum(tokens * width * b for b in cost.kernel.before_kept
                        if tokens * width * b < work.heap_threshold)
                    * shape.part_layers.get(part, 1))
    return kept


def _vision_activations(shape: ModelShape, tiles: int, element_bytes: int) -> int:
    """One vision layer's activations over all of an image's tiles at once (encoders take the
    tiles as one batch): one residual-plus-MLP width per patch and the attention scores of
    every tile (what SmolVLM-256M's 17 tiles grew by, 2026-12-06: docs/real-scale.md)."""
    return tiles * shape.vision_patches * element_bytes * (
        shape.vision_width + shape.vision_heads * shape.vision_patches)


def available_ram_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """MemAvailable: what the kernel can give without swapping (free + reclaimable cache)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def does_not_fit(est: MemoryEstimate, limit_bytes: int | None, where: str) -> str | None:
    """One line when the estimate exceeds the limit, else None."""
    if limit_bytes is None or est.needed_bytes <= limit_bytes:
        return None
    calibration = (f", calibrating the float32 model first {est.calibration_bytes / MIB:,.0f}"
                   if est.calibration_bytes else "")
    return (f"{est.variant} needs about {est.needed_bytes / MIB:,.0f} MiB (estimated: weights "
            f"{est.weights_bytes / MIB:,.0f}, loading peak {est.load_peak_bytes / MIB:,.0f}, "
            f"running peak {est.run_peak_bytes / MIB:,.0f}{calibration}) but {where} has "
            f"{limit_bytes / MIB:,.0f} MiB")
