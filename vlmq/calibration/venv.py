"""llm-compressor's own Python environment, built on demand and never touching the main one.

llm-compressor 0.14 (GPTQ, SmoothQuant) pins transformers <= 5.17 and compressed-tensors 0.19,
while vlmq runs transformers 5.23: it cannot share vlmq's environment. So it gets a venv of its
own under the cache (`~/.cache/vlmq/venvs/llmcompressor`), made with `--system-site-packages`
so that it reuses the main environment's torch (and everything else it does not pin), with only
the pinned packages below installed over it. The calibration runs there as a subprocess
(vlmq.calibration.llmcompressor_worker) and hands back a compressed-tensors checkpoint, which the
main environment loads.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from vlmq.cachedir import cache_home
from vlmq.errors import VlmqError

NAME = "llmcompressor"
# llm-compressor and what it pins over the main environment (pip's resolution with torch held
# at the main environment's version, 2026-12); nothing else is installed into the venv
PINS = ("llmcompressor==0.14.0.1", "transformers==5.17.0", "compressed-tensors==0.19.0",
        "auto-round==0.15.1", "huggingface_hub==1.33.0", "httpx==0.29.0", "httpcore==1.0.9")
MARKER = "vlmq-venv.json"  # written last: a venv without it is half built
BUILD_COMMAND = "python -m vlmq.variants.prepare --llmcompressor"


def folder() -> Path:
    return cache_home() / "venvs" / NAME


def python(venv: Path) -> Path:
    return venv / "bin" / "python"


def main_torch() -> str:
    """The main environment's torch version, without its local label (2.13.0+cpu -> 2.13.0)."""
    return metadata.version("torch").split("+")[0]


def absent_reason(venv: Path) -> str | None:
    """Why the venv at `venv` cannot calibrate (not built, or built with other pins), or None."""
    marker = venv / MARKER
    if not marker.is_file():
        return f"llm-compressor's environment is not built ({venv}): run `{BUILD_COMMAND}`"
    built = json.loads(marker.read_text())
    if built.get("pins") != list(PINS) or built.get("torch") != main_torch():
        return (f"llm-compressor's environment {venv} was built with other pins "
                f"({', '.join(built.get('pins', []))}; torch {built.get('torch')}): "
                f"rebuild it with `{BUILD_COMMAND}`")
    return None


def tool_versions() -> dict[str, str]:
    """The versions a checkpoint made in the venv depends on (its cache key's part)."""
    pinned = dict(p.split("==") for p in PINS)
    return {**pinned, "torch": metadata.version("torch")}


def install_command(venv: Path) -> list[str]:
    """pip inside the venv: the pins, with torch held at the main environment's version."""
    return [str(python(venv)), "-m", "pip", "install", "--quiet", *PINS,
            f"torch=={main_torch()}"]


def _venv_torch(venv: Path) -> str:
    out = subprocess.run([str(python(venv)), "-c", "import torch; print(torch.__file__)"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def build(venv: Path) -> None:
    """Create the venv from scratch, install the pins, check that it kept the main torch."""
    import torch

    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    done = subprocess.run(install_command(venv), capture_output=True, text=True)
    if done.returncode != 0:
        raise VlmqError(f"installing llm-compressor into {venv} failed: "
                        f"{done.stderr.strip().splitlines()[-1:]}")
    if Path(_venv_torch(venv)) != Path(torch.__file__):
        raise VlmqError(f"llm-compressor's environment {venv} imports a torch of its own "
                        f"({_venv_torch(venv)}), not the main environment's; not using it")
    (venv / MARKER).write_text(json.dumps({"pins": list(PINS), "torch": main_torch()}))
