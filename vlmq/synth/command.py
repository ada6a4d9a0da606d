"""`python -m vlmq.synth NAME OUT`: write a seed model's published architecture with random
seeded weights (see vlmq.synth). Apart from the `vlmq` command, which only reads results and so
never imports torch; this one writes weights with it."""

from __future__ import annotations

import argparse
import json
import sys

from vlmq.errors import VlmqError


def _parser() -> argparse.ArgumentParser:
    s = argparse.ArgumentParser(
        prog="python -m vlmq.synth",
        description="Write a loadable folder with a seed model's published shapes, random "
        "seeded weights, a working processor and a card saying it is synthetic (speed and "
        "memory only).")
    s.add_argument("name", metavar="NAME", help="llava-1.5-7b, qwen2.5-vl-3b, smolvlm-instruct, "
                   "blip-captioning-base or vit-large-flowers102 (vlmq/synth/specs.py)")
    s.add_argument("out", metavar="OUT", help="new or empty folder to write")
    depth = s.add_mutually_exclusive_group()
    depth.add_argument("--layers", type=int, help="cap every tower at N layers (real widths)")
    depth.add_argument("--depth-scale", type=float, help="scale every tower's depth (0-1]")
    s.add_argument("--seed", type=int, default=0, help="weights seed (default 0)")
    s.add_argument("--dtype", choices=("float32", "float16", "bfloat16"),
                   help="weights dtype (default: the published checkpoint's)")
    return s


def main(argv: list[str] | None = None) -> int:
    """Exit 0 with the written facts as one JSON line, 2 on bad input (one line on stderr)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    from vlmq.synth import write_synthetic

    try:
        facts = write_synthetic(args.name, args.out, layers=args.layers,
                                depth_scale=args.depth_scale, seed=args.seed, dtype=args.dtype)
    except VlmqError as exc:
        print(f"python -m vlmq.synth: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(facts))
    return 0
