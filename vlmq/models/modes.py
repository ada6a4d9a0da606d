"""Generation modes: how the decode loop runs, as options for transformers' `generate`.

- eager: a dynamic KV cache and no compilation (what transformers does by default off-GPU).
- static: a pre-allocated KV cache of fixed shape, still eager.
- compiled: the static cache plus torch.compile of the decode step. transformers compiles the
  decode step itself when the cache is static, but only on accelerators unless the compile
  config says all devices; on CPU the CUDA-graph mode ("reduce-overhead") is replaced by
  inductor's default. The first call compiles: the warm-up absorbs it and vlmq reports that
  call's time apart from the timed rounds.

The modes are vlmq.config.GENERATION_MODES (validated there). Every mode names
`disable_compile` or a compile config, so "static" never compiles on a GPU.
"""

from __future__ import annotations

from typing import Any


def generation_options(mode: str, device_type: str) -> dict[str, Any]:
    """Keyword arguments for `model.generate` in `mode`."""
    if mode == "eager":
        return {"disable_compile": True}
    if mode == "static":
        return {"cache_implementation": "static", "disable_compile": True}
    from transformers import CompileConfig

    on_gpu = device_type == "cuda"
    config = CompileConfig(mode="reduce-overhead" if on_gpu else "default")
    if not on_gpu:
        config._compile_all_devices = True  # transformers' own switch for compiling on CPU
    return {"cache_implementation": "static", "compile_config": config}


def generate_kwargs(options: dict[str, Any], max_new_tokens: int) -> dict[str, Any]:
    """vlmq's generate options as `model.generate` keywords: `fixed_new_tokens` becomes
    `min_new_tokens` (end-of-sequence suppressed until the cap, so every variant decodes the
    same amount); the rest pass as they are."""
    out = dict(options)
    if out.pop("fixed_new_tokens", False):
        out["min_new_tokens"] = max_new_tokens
    return out


def mode_unavailable_reason(mode: str, model: Any) -> str | None:
    """Why `model` cannot generate in `mode` (a skip reason), or None when it can."""
    if mode == "eager":
        return None
    import transformers

    cls = type(model).__name__
    # transformers' flag for models whose forward is static-shape and compile-safe; the
    # static cache and auto-compilation assume it
    if not getattr(type(model), "_can_compile_fullgraph", False):
        return (f"{cls} does not support a static KV cache / compiled decoding in "
                f"transformers {transformers.__version__}: {mode} generation skipped")
    quantizer = getattr(model, "hf_quantizer", None)
    if mode == "compiled" and quantizer is not None and not quantizer.is_compileable:
        return (f"transformers does not compile models quantized by "
                f"{type(quantizer).__name__}: compiled generation skipped")
    return None
