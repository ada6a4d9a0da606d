"""Issue 23's energy check on a main job's JSON: energy per sample over the timed model seconds
per sample (rounds_s summed over the entry's samples), each entry against the fp32 entry of its
model and task; within 25% passes.

    python reports/cpu/main-job-2026-12-07/timed/energy_check.py out.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def wh_per_model_second(path: str) -> dict[str, float]:
    rows = {}
    for bench in json.loads(Path(path).read_text())["benchmarks"]:
        extra = bench["extra_info"]
        wh = ((extra.get("metrics") or {}).get("energy_wh_per_sample") or {}).get("value")
        rounds = extra.get("rounds_s") or []
        per_sample = extra.get("per_sample") or {}
        samples = len(next(iter(per_sample.values()))) if per_sample else 0
        name = re.fullmatch(r"test_task\[(.*)\]", bench["name"])
        if wh is not None and rounds and samples and name:
            rows[name.group(1)] = wh / (sum(rounds) / samples)
    return rows


def main(path: str) -> None:
    rows = wh_per_model_second(path)
    outside = 0
    for key, value in rows.items():
        model = key.split("-")[0] + "-" + key.split("-")[1]
        task = key.rsplit("-", 1)[1]
        base = rows.get(f"{model}-fp32-{task}")
        if base is None:
            continue
        flag = "" if abs(value / base - 1) <= 0.25 else "  OUTSIDE 25%"
        outside += bool(flag)
        print(f"{key:45s} Wh per timed model second {value:.5f}  vs fp32 {value / base:.3f}{flag}")
    print(f"{len(rows)} entries, {outside} outside 25%")


if __name__ == "__main__":
    main(sys.argv[1])
