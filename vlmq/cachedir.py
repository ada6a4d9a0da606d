"""Where vlmq keeps what it builds once and reuses (embedded splits, calibrated checkpoints)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    """`$VLMQ_CACHE_DIR`, else ~/.cache/vlmq."""
    return Path(os.environ.get("VLMQ_CACHE_DIR", Path.home() / ".cache" / "vlmq"))
