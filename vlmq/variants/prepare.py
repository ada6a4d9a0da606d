"""`python -m vlmq.variants.prepare`: every registered variant's per-machine one-time work
(`Variant.prepare_machine`, e.g. optimum-quanto's C++ extension build), done once at set-up
(scripts/setup.sh) so that no benchmark's first call or load pays it. Variants that cannot run
here are skipped with their reason.

`--llmcompressor` builds llm-compressor's own venv instead (vlmq.calibration.venv), which the
gptq-w4a16 and smoothquant-w8a8 variants calibrate in; it is never built by default (it installs
from the package registry)."""

from __future__ import annotations

from vlmq.devices import DEVICE_TYPES
from vlmq.measure.latency import Timer
from vlmq.variants.registry import VARIANTS


def prepare(device_types: tuple[str, ...] = ("cpu",)) -> list[str]:
    """One line per variant that did work or could not: what it was and how long it took."""
    lines = []
    for name, variant in VARIANTS.items():
        for device_type in device_types:
            if variant.unavailable_reason(device_type):
                continue
            try:
                with Timer() as timer:
                    variant.prepare_machine(device_type)
            except Exception as exc:  # noqa: BLE001 - set-up goes on; loading will say why
                lines.append(f"{name} ({device_type}): failed: {type(exc).__name__}: {exc}")
                continue
            if timer.seconds >= 0.5:
                lines.append(f"{name} ({device_type}): {timer.seconds:.1f} s")
    return lines


def build_llmcompressor() -> str:
    """Build llm-compressor's venv; a line saying where, with which pins, in how long."""
    from vlmq.calibration import venv

    with Timer() as timer:
        venv.build(venv.folder())
    return (f"llm-compressor's environment built in {venv.folder()} in {timer.seconds:.0f} s "
            f"({', '.join(venv.PINS)}; torch from the main environment)")


def main() -> None:
    import argparse

    import torch

    parser = argparse.ArgumentParser(prog="python -m vlmq.variants.prepare")
    parser.add_argument("--llmcompressor", action="store_true",
                        help="build llm-compressor's own venv (GPTQ, SmoothQuant) and stop")
    if parser.parse_args().llmcompressor:
        print(f"vlmq prepare: {build_llmcompressor()}")
        return
    types = DEVICE_TYPES if torch.cuda.is_available() else ("cpu",)
    for line in prepare(types):
        print(f"vlmq prepare: {line}")


if __name__ == "__main__":
    main()
