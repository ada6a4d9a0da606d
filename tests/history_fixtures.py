"""Three saved pytest-benchmark runs a day apart, the last with one variant degraded on purpose
(vit-tiny int8 loses most of its top-1), as `--benchmark-autosave` leaves them in .benchmarks/."""

from __future__ import annotations

import json
from pathlib import Path

from report_fixtures import make_results, write_benchmark_json

DEGRADED = ("vit-tiny", "int8", "classify", "top1")


def write_history(root: Path) -> Path:
    """root/.benchmarks/<machine>/000N_<commit>_<date>.json for N = 1..3; returns the folder."""
    storage = root / ".benchmarks"
    degrade = (*DEGRADED[:2], DEGRADED[3], 0.0)
    for n, kw in enumerate([{}, {}, {"degrade": degrade}], 1):
        name = f"000{n}_{n:x}{'0' * 39}_2026112{n}_100000.json"  # as --benchmark-autosave
        path = write_benchmark_json(storage / "Linux-CPython-3.11-64bit" / name,
                                    make_results(n, **kw))
        doc = json.loads(path.read_text())
        doc["datetime"] = f"2026-11-2{n}T10:00:00+00:00"
        doc["commit_info"]["id"] = f"{n:x}" * 40
        path.write_text(json.dumps(doc))
    return storage
