"""Check what scripts/aa_hog.sh's runs must show (issue 23), from the files it wrote:

- the hog ran inside A2 (times.txt);
- `vlmq compare A1 A2` exited 0 and named interfered entries (notes: interfered rounds or an
  interfered single shot);
- `vlmq compare A1 D` exited 1, and every regression it names is a quality metric of `crushed`;
- `vlmq history A1 A2` flagged no regression.

    python scripts/aa_check.py OUTDIR

Prints one line per check and writes them to OUTDIR/checks.txt; exit 1 when one fails.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

DEGRADED = "crushed"


def _times(out: Path) -> dict[str, float]:
    """{"A2 start": seconds, ...} from lines like "A2 start 1765051234.5"."""
    marks = {}
    for line in (out / "times.txt").read_text().splitlines():
        what, edge, seconds = line.split()[:3]
        marks[f"{what} {edge}"] = float(seconds)
    return marks


def _exit(out: Path, label: str) -> int | None:
    text = (out / "exit_codes.txt").read_text()
    found = re.search(re.escape(label) + r".*?: exit (\d+)", text)
    return int(found.group(1)) if found else None


def _quality_metrics(bench_json: Path) -> set[tuple[str, str]]:
    """(entry, metric) of every quality metric in a benchmark JSON."""
    out = set()
    for bench in json.loads(bench_json.read_text())["benchmarks"]:
        info = bench.get("extra_info", {})
        v = info.get("vlmq", {})
        entry = f"{v.get('model')}/{v.get('variant')}/{v.get('task')}"
        for name, metric in info.get("metrics", {}).items():
            if metric.get("kind") == "quality":
                out.add((entry, name))
    return out


def checks(out: Path) -> list[tuple[bool, str]]:
    t = _times(out)
    hog = (t["hog start"], t["hog end"])
    a2 = (t["A2 start"], t["A2 end"])
    results = [(a2[0] < hog[0] and hog[1] < a2[1],
                f"hog {hog[0] - a2[0]:.0f}..{hog[1] - a2[0]:.0f} s into A2, "
                f"which took {a2[1] - a2[0]:.0f} s")]
    cmp_aa = (out / "cmp_A1_A2.txt").read_text()
    named = sorted({m.group(1) for m in re.finditer(
        r"^note: \S*A2\.json: (\S+): (?:\d+ of \d+ timed rounds|single-shot measurement) "
        r"interfered", cmp_aa, re.M)})
    results.append((_exit(out, "vlmq compare A1 A2") == 0,
                    f"compare A1 A2 exit {_exit(out, 'vlmq compare A1 A2')}, "
                    f"{len(named)} entries of A2 named interfered"))
    results.append((bool(named), "A2's interfered entries: " + (", ".join(named) or "none")))
    cmp_d = (out / "cmp_A1_D.txt").read_text()
    flagged = [tuple(m.groups()) for m in re.finditer(r"^REGRESSION: (\S+) (\S+)$", cmp_d, re.M)]
    quality = _quality_metrics(out / "D.json")
    wrong = [f"{e} {m}" for e, m in flagged if f"/{DEGRADED}/" not in e or (e, m) not in quality]
    d_exit = _exit(out, "vlmq compare A1 D")
    results.append((d_exit == 1 and bool(flagged) and not wrong,
                    f"compare A1 D exit {d_exit}: {len(flagged)} regressions"
                    + (f", {len(wrong)} not a quality metric of {DEGRADED}: {wrong}" if wrong
                       else f", all quality metrics of {DEGRADED}")))
    hist = (out / "history.txt").read_text()
    found = re.search(r"(\d+) regression\(s\) flagged", hist)
    results.append((found is not None and found.group(1) == "0"
                    and _exit(out, "vlmq history") == 0,
                    f"history A1 A2: {found.group(0) if found else 'no summary line'}"))
    return results


def main() -> int:
    out = Path(sys.argv[1])
    lines = [f"{'ok  ' if ok else 'FAIL'} {text}" for ok, text in checks(out)]
    (out / "checks.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(line.startswith("ok") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
