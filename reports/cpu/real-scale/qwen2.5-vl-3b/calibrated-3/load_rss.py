"""How much of llm-compressor's worker RSS while it loads Qwen2.5-VL-3B in float32 is anonymous
memory and how much the mapped bfloat16 checkpoint (2026-12-07, tenth session). Run with the
venv's python, as the worker loads it:

    HF_HUB_OFFLINE=1 ~/.cache/vlmq/venvs/llmcompressor/bin/python load_rss.py FOLDER

Output on /work/synth/qwen2.5-vl-3b: at the largest total, anon 14,175 MiB and file 7,019 MiB;
at the end VmHWM 22,465,640 kB, RssAnon 15,024,096 kB, RssFile 110,196 kB.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import torch
import transformers


def _rss() -> dict[str, int]:
    """RssAnon and RssFile of this process, MiB."""
    with open(f"/proc/{os.getpid()}/status") as status:
        fields = dict(line.split(":", 1) for line in status if line.startswith("Rss"))
    return {"anon": int(fields["RssAnon"].split()[0]) >> 10,
            "file": int(fields["RssFile"].split()[0]) >> 10}


def main(folder: str) -> None:
    peak = {"anon": 0, "file": 0}

    def sample() -> None:
        while True:
            now = _rss()
            if sum(now.values()) > sum(peak.values()):
                peak.update(now)
            time.sleep(0.5)

    threading.Thread(target=sample, daemon=True).start()
    transformers.Qwen2_5_VLForConditionalGeneration.from_pretrained(folder, dtype=torch.float32)
    time.sleep(1)
    print("at the largest total (MiB):", peak, "at the end:", _rss())


if __name__ == "__main__":
    main(sys.argv[1])
