"""Peak RSS of SmolVLM-256M's vision encoder cut to LAYERS layers over TILES 512-pixel tiles,
bfloat16, its Linear layers dense or bitsandbytes int8 (the synthetic folder's config).

    PYTHONPATH=$PWD python vision_layer.py KIND LAYERS TILES   # KIND: bf16 or bnb-int8
"""

from __future__ import annotations

import json
import logging
import sys

import torch
from transformers import AutoConfig
from transformers.models.idefics3.modeling_idefics3 import Idefics3VisionTransformer

from vlmq.measure.memory import PeakMemory, release_freed_memory

FOLDER = "/work/coord/synth/smolvlm-256m"


def int8(linear: torch.nn.Linear) -> torch.nn.Module:
    import bitsandbytes as bnb

    layer = bnb.nn.Linear8bitLt(linear.in_features, linear.out_features,
                                has_fp16_weights=False, threshold=6.0)
    layer.load_state_dict(linear.state_dict())
    return layer.to("cpu").eval()


def main(kind: str, layers: str, tiles: str) -> None:
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(FOLDER).vision_config
    config.num_hidden_layers = int(layers)
    config._attn_implementation = "sdpa"
    model = Idefics3VisionTransformer(config).to(torch.bfloat16).eval()
    if kind == "bnb-int8":
        for name, module in list(model.named_modules()):
            if isinstance(module, torch.nn.Linear):
                parent, _, child = name.rpartition(".")
                setattr(model.get_submodule(parent), child, int8(module))
    with torch.inference_mode():
        model(torch.randn(1, 3, 512, 512, dtype=torch.bfloat16))
        pixels = torch.randn(int(tiles), 3, 512, 512, dtype=torch.bfloat16)
        release_freed_memory()
        with PeakMemory("cpu") as mem:
            model(pixels)
    print(json.dumps({"kind": kind, "layers": int(layers), "tiles": int(tiles),
                      "peak_growth_mib": (mem.result.peak_bytes - mem.result.start_bytes)
                      / 2**20}))


if __name__ == "__main__":
    main(*sys.argv[1:])
