"""Progress bars over samples and variants: tqdm on a terminal, silent under CI and in logs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled(enabled: bool = True) -> bool:
    """Bars only when asked for, not under CI (CI=true/1), and only on an interactive stderr."""
    if not enabled or os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    stream = sys.__stderr__
    return bool(stream is not None and stream.isatty())


def progress(iterable: Iterable[T] | None = None, desc: str = "", total: int | None = None,
             enabled: bool = True, leave: bool = True, unit: str = "it") -> Any:
    """A tqdm over `iterable` (or a manual bar when None; call `.update(n)`), disabled as above.

    It writes to the real stderr so pytest's output capture does not swallow it. The result
    always supports iteration, `.update()`, `.set_postfix()` and `.close()`.
    """
    return tqdm(iterable, desc=desc, total=total, leave=leave, unit=unit,
                disable=not progress_enabled(enabled), file=sys.__stderr__, dynamic_ncols=True)
