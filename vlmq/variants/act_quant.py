"""Static FP8 activation quantization, simulated: a Linear's input is cast to float8 e4m3 with
its calibrated per-tensor scale and back before the dense matmul (what a W8A8-FP8 kernel
computes, up to the accumulation order). CPUs have no FP8 matmul, so this is how the recipe's
quality is measured here; its latency is not an FP8 kernel's."""

from __future__ import annotations

from typing import Any

FP8_MAX = 448.0  # largest float8 e4m3 value
INPUT_SCALE_MARK = "vlmq_input_scale"


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
