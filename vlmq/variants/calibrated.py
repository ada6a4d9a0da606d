"""Calibrated recipes: the model is quantized once by a calibrating library on samples apart
from every evaluated one, the result cached, then loaded for each run.

The cache folder (vlmq.calibration.cache) holds two things from one calibration:
- the compressed-tensors checkpoint the library exported, which serving engines load and which
  `as-saved` benchmarks again;
- `in-process.safetensors`, the quantized layers' weights as the library left them in memory
  (dequantized), which this variant puts into the full-precision model. Comparing the two runs
  checks the export and its loader, not only the method.
Subclasses name the library and algorithm; see vlmq/variants/autoround_w4a16.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmq.errors import UnavailableError, VlmqError
from vlmq.variants.base import Prepared, Variant, VariantSettings
from vlmq.variants.targets import target_linears

# in a subfolder, so that neither transformers nor the disk size takes it for the checkpoint's
IN_PROCESS_FILE = "vlmq/in-process.safetensors"
# bumped when what vlmq writes into a cache folder changes (a new key for old folders)
CACHE_LAYOUT = 1
# set on each Linear whose weight came from the calibrated checkpoint: the counts read it
CALIBRATED_MARK = "vlmq_calibrated"
# input features per quantization group of the grouped schemes (AutoRound's and llm-compressor's
# presets); their packing refuses a Linear whose input width is not a multiple of it
GROUP_SIZE = {"W4A16": 128}


@dataclass(frozen=True)
class Calibrated(Variant):
    """A recipe run by AutoRound: its preset scheme, algorithm and default iterations."""

    scheme: str = "W4A16"
    algorithm: str = "signround"  # signround | awq | rtn (AutoRound's names)
    iters: int = 0  # signround's tuning iterations unless the calibration settings say
    # what the inputs are quantized to with static scales, simulated (vlmq.variants.act_quant);
    # "" for weight-only schemes
    activations: str = ""
    # AutoRound's mixed precision: on a CPU it casts the model to bf16 to tune it and exports
    # the scales in bf16. False tunes and exports in the model's own dtype, so that the export
    # holds exactly the values the in-process variant runs on (see vlmq/variants/fp8_static.py)
    amp: bool = True
    quantizes: tuple[str, ...] = ("text",)
    packages: tuple[str, ...] = ("auto_round", "compressed_tensors")
    save: str = ""  # the cached checkpoint is the saved artefact (disk_size)

    @property
    def calibrates(self) -> bool:
        return True

    def unsupported_layers(self, model: Any, parts: dict[str, list[str]],
                           device_type: str) -> list[str]:
        """None: the calibrating libraries quantize every Linear of the decoder, so a grouped
        scheme meeting an input width that is not a multiple of its group (SmolVLM-256M's
        576-wide text model and W4A16's groups of 128) cannot run on the model at all, an
        UnavailableError naming the layers, before anything loads."""
        group = GROUP_SIZE.get(self.scheme)
        if not group:
            return []
        linears = [(name, model.get_submodule(name).in_features)
                   for name in target_linears(model, parts, self.quantizes, ())]
        odd = [(name, width) for name, width in linears if width % group]
        if odd:
            raise UnavailableError(
                f"variant {self.name!r} quantizes in groups of {group} input features, and "
                f"{len(odd)} of the {len(linears)} Linear layers it would quantize are not a "
                f"multiple of {group} wide (e.g. {odd[0][0]}, {odd[0][1]}); the calibrating "
                f"library cannot pack them")
        return []

    def recipe(self, settings: VariantSettings, adapter: Any) -> dict[str, Any]:
        """What the checkpoint depends on besides the model and the samples."""
        iters = settings.calibration.iters or self.iters if self.algorithm == "signround" else 0
        # "amp" is named only when off: the recipes on AutoRound's default keep their keys
        return {"name": self.name, "scheme": self.scheme, "algorithm": self.algorithm,
                "iters": iters, "seed": settings.calibration.seed, "layout": CACHE_LAYOUT,
                **({} if self.amp else {"amp": False})}

    def tool_versions(self) -> dict[str, str]:
        """The library versions the checkpoint depends on (part of its cache key)."""
        from vlmq.calibration.autoround import PACKAGES
        from vlmq.calibration.cache import library_versions

        return library_versions(("torch", "transformers", *PACKAGES))

    def before_load(self, source: str, adapter: Any, settings: VariantSettings) -> Prepared:
        from vlmq.calibration.cache import CacheKey, cached, content_hash, store
        from vlmq.calibration.data import calibration_samples

        samples = calibration_samples(settings.calibration)
        recipe = self.recipe(settings, adapter)
        key = CacheKey(content_hash(source), recipe, tuple(s.sample_id for s in samples),
                       self.tool_versions())
        folder = key.folder(self.name)
        meta = cached(folder)
        if meta is not None:
            return Prepared(str(folder), 0.0, {"calibration": (
                f"reused the cached checkpoint {folder} (calibrated earlier in "
                f"{meta['calibration_s']:.1f} s on {len(samples)} samples); calibration time 0")})
        meta = store(folder, key, lambda out: self._calibrate(source, adapter, samples,
                                                             recipe, out))
        return Prepared(str(folder), meta["calibration_s"], {"calibration": (
            f"calibrated now on {len(samples)} samples ({self.algorithm}, "
            f"{f'{iters} iterations, ' if (iters := recipe['iters']) else ''}"
            f"seed {recipe['seed']}) in {meta['calibration_s']:.1f} s; "
            f"checkpoint cached in {folder}")})

    def _calibrate(self, source: str, adapter: Any, samples: list[Any],
                   recipe: dict[str, Any], out: Path) -> float:
        """Load the full-precision model, calibrate it, write both artefacts; the seconds the
        calibration took."""
        import torch

        from vlmq.calibration.autoround import run_autoround
        from vlmq.calibration.data import calibration_batches

        model = adapter.auto_class().from_pretrained(source, dtype=torch.float32).eval()
        processor = adapter.load_processor(source)
        batches = calibration_batches(adapter, processor, samples)
        start = time.perf_counter()
        layers = run_autoround(model, processor, batches, scheme=self.scheme,
                               algorithm=self.algorithm, iters=recipe["iters"],
                               seed=recipe["seed"], amp=self.amp, out=out,
                               in_process_file=out / IN_PROCESS_FILE)
        seconds = time.perf_counter() - start
        if not layers:
            raise VlmqError(f"variant {self.name!r}: AutoRound quantized no layer of this model")
        return seconds

    def apply_prepared(self, model: Any, prepared: Prepared) -> None:
        from vlmq.variants.act_quant import quantize_inputs_fp8

        for name, tensor in in_process_tensors(Path(prepared.folder)):
            module_name, _, kind = name.rpartition(".")
            module = model.get_submodule(module_name)
            if kind == "input_scale":
                quantize_inputs_fp8(module, tensor)
                continue
            self.load_weight(module, name, tensor)
            setattr(module, CALIBRATED_MARK, self.scheme)

    def load_weight(self, module: Any, name: str, tensor: Any) -> None:
        """Put the calibrated weight `name` into `module`, refusing another shape."""
        if module.weight.shape != tensor.shape:
            raise VlmqError(f"variant {self.name!r}: calibrated weight {name} has shape "
                            f"{tuple(tensor.shape)}, the model's {tuple(module.weight.shape)}")
        module.weight.data = tensor.to(module.weight.dtype)

    def quantized_linear(self, module: Any) -> bool:
        return bool(getattr(module, CALIBRATED_MARK, ""))

    def kernel(self, device_type: str, dtype: str = "float32",
               settings: VariantSettings | None = None) -> str:
        inputs = f"; inputs fake-quantized to {self.activations}" if self.activations else ""
        return (f"dense {dtype} matmul on weights "
                f"dequantized from {self.scheme} ({self.algorithm}){inputs}: quality is the "
                f"method's, latency and memory are the dense model's")

    def disk_size(self, model: Any, source: str) -> Any:
        """The compressed-tensors checkpoint's files, as exported (what a server loads)."""
        from vlmq.variants.as_saved import checkpoint_files_size

        return checkpoint_files_size(Path(source))


def in_process_tensors(folder: Path) -> Iterator[tuple[str, Any]]:
    """The calibrated weights of `folder`'s in-process file, read one at a time with pread:
    each is cast into its module and freed before the next is read. Read whole (safetensors'
    load_file) they were all in memory at once, in the float32 they were calibrated in, beside
    the model: SmolVLM-Instruct's 6 GB of text weights on top of its 4.3 GB bfloat16 model, a
    10.4 GB load peak (2026-12-07). Memory-mapped, every page read would count in the
    process's resident memory until the file closed."""
    from safetensors import safe_open

    with safe_open(str(folder / IN_PROCESS_FILE), "pt", backend="pread") as f:
        for name in f.keys():  # noqa: SIM118 - safe_open has no __iter__
            yield name, f.get_tensor(name)
