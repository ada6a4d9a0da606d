"""`python -m vlmq.variants.prepare`: every registered variant's per-machine one-time work
(`Variant.prepare_machine`, e.g. optimum-quanto's C++ extension build), done once at set-up
(scripts/setup.sh) so that no benchmark's first call or load pays it. Variants that cannot run
here are skipped with their reason."""

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


def main() -> None:
    import torch

    types = DEVICE_TYPES if torch.cuda.is_available() else ("cpu",)
    for line in prepare(types):
        print(f"vlmq prepare: {line}")


if __name__ == "__main__":
    main()
