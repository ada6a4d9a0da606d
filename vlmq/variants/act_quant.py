"""Activation quantization, simulated: a Linear's input is quantized and dequantized before the
dense matmul (what a W8A8 kernel computes, up to the accumulation order).
- static FP8: cast to float8 e4m3 with the calibrated per-tensor scale and back;
- dynamic int8 per token (SmoothQuant W8A8): each token's row to int8 with its own symmetric
  scale, computed as compressed-tensors computes it (absmax / 127.5, round, clamp).
CPUs have no FP8 or int8 W8A8 matmul here, so this is how the recipes' quality is measured;
their latency is not a W8A8 kernel's."""

from __future__ import annotations

from typing import Any

FP8_MAX = 448.0  # largest float8 e4m3 value
INPUT_SCALE_MARK = "vlmq_input_scale"
INT8_MIN, INT8_MAX = -128, 127
DYNAMIC_INT8_MARK = "vlmq_input_int8_per_token"


def quantize_inputs_fp8(module: Any, scale: Any) -> None:
    """Make `module` see its input through FP8 with `scale` (a one-element tensor)."""
    import torch

    value = float(scale.reshape(-1)[0])

    def hook(_module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x = args[0]
        q = (x / value).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
        return (q.to(x.dtype) * value, *args[1:])

    module.register_forward_pre_hook(hook)
    setattr(module, INPUT_SCALE_MARK, value)


def int8_per_token(x: Any) -> Any:
    """`x` quantized to int8 with one symmetric scale per token (last dimension), dequantized."""
    import torch

    scale = x.abs().amax(dim=-1, keepdim=True) / ((INT8_MAX - INT8_MIN) / 2)
    scale = torch.where(scale == 0, torch.ones_like(scale), scale)
    return (x / scale).round().clamp(INT8_MIN, INT8_MAX) * scale


def quantize_inputs_int8_per_token(module: Any) -> None:
    """Make `module` see its input through dynamic per-token int8."""

    def hook(_module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (int8_per_token(args[0]), *args[1:])

    module.register_forward_pre_hook(hook)
    setattr(module, DYNAMIC_INT8_MARK, True)
