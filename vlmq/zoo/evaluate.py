"""Measure a zoo checkpoint on the held-out test splits with the harness itself, and write its
model card.

`python -m vlmq.zoo.evaluate --model llava-tiny [--folder DIR] [--limit N] [--quant]` runs a
vlmq BenchmarkSession over the checkpoint folder (loaded through `from_pretrained`, exactly as a
hub model is) on every task the model can do: the whole test split, or a seeded subset of N
samples. With `--quant` the int8 and nf4 variants are scored too. Scores come from the task code
the benchmarks use (pycocoevalcap CIDEr-D, EvalAI VQA accuracy, top-1), so the card's numbers
and the benchmark's agree by construction.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from vlmq.zoo import ZOO, card


def evaluate(folder: Path, limit: int | None = None, quant: bool = False,
             batch_size: int = 64) -> dict[str, Any]:
    """{variant: {task: {metric: value, ..., "n": samples}}} for fp32 (and int8, nf4)."""
    from vlmq.config import RunConfig
    from vlmq.loading import unload
    from vlmq.session import BenchmarkSession, Case

    variants = ["fp32", "int8", "nf4"] if quant else ["fp32"]
    with tempfile.TemporaryDirectory(prefix="vlmq-zoo-eval-") as reports:
        config = RunConfig(models=[str(folder)], variants=variants, device="cpu",
                           baseline="fp32", samples=limit or 0, batch_size=batch_size,
                           energy=False, reports_dir=reports)
        session = BenchmarkSession(config)
        out: dict[str, Any] = {"limit": limit}
        for variant in variants:
            case = Case(str(folder), variant)
            loaded = session.load(case)
            try:
                out[variant] = {}
                for task in session.tasks_for(case.model):
                    result = session.run(loaded, case, task, full=limit is None, measure=False)
                    scores = {name: m.value for name, m in result.metrics.items()
                              if m.kind == "quality"}
                    out[variant][task] = {**scores, "n": result.info["samples"]}
            finally:
                unload(loaded)
    return out


def evaluate_and_card(folder: Path, name: str, limit: int | None = None,
                      quant: bool = False) -> dict[str, Any]:
    """Score the checkpoint, save quality.json next to it and rewrite its model card."""
    result = evaluate(folder, limit, quant)
    (folder / "quality.json").write_text(json.dumps(result, indent=2) + "\n")
    card.write_card(folder)
    print(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m vlmq.zoo.evaluate", description=__doc__.split("\n")[0]
    )
    p.add_argument("--model", choices=tuple(ZOO), required=True)
    p.add_argument("--folder", type=Path, default=None)
    p.add_argument("--limit", type=int, default=None,
                   help="a seeded subset of N test samples per task (default: the whole split)")
    p.add_argument("--quant", action="store_true", help="also score the int8 and nf4 variants")
    args = p.parse_args(argv)
    evaluate_and_card(args.folder or ZOO[args.model], args.model, args.limit, args.quant)


if __name__ == "__main__":
    main()
