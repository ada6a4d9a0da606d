"""What the harness itself costs: a bare transformers loop and vlmq's own path, on the same
model, the same inputs and the same settings, in one process, interleaved.

Each pair runs one batch through both, alternating which goes first (ABBA), so that drift of a
shared or thermally throttled machine falls on both alike. The bare loop decodes the images,
calls the processor with the chat template, moves the tensors to the device and calls
`generate` (greedy), synchronized with CUDA synchronize + perf_counter around `generate`. The
harness path is `vlmq.evaluate.evaluate` on a one-batch subset: its input pipeline, its timed
call (with the per-step timer) and its records.

Recorded in the JSON's extra_info["overhead"]: the medians per batch and two ratios, harness /
bare: `ratio_model` (the model call alone, what vlmq reports as latency) and
`ratio_end_to_end` (preprocessing + model), with the spread of the per-pair ratios (p10, p90)
as the noise of this run; and the median of the per-pair ratios with its 95% bootstrap interval
(`*_paired`), judged against the 2% target: `within` when the whole interval is at or under
1.02, `outside` when wholly over it, `undecided` when this run's noise cannot tell.

The decode step too (`ratio_decode_step_paired`, judged against 5% either way, 0.95-1.05:
issue 21 asks that the two figures agree, not only that the harness costs nothing): the harness's
figure is what it reports as TPOT, the median step of the batch from its per-step timer; the
bare loop's is the difference between generating the cap and one token, over the steps between
(as `scripts/bare_decode.py`). Both paths run the generation mode of the run (its cache and
compile settings) and decode exactly the token cap (end-of-sequence suppressed until it, as
vlmq does on synthetic models), so they do the same work and the step count is known.
`harness_step_mean_ms` (the harness's decode time over its steps) tells the timer's cost from
the statistic's: median against mean of the same steps.
pytest-benchmark's own statistics time one pair (bare + harness).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np
import pytest

from vlmq.data.images import decode_image
from vlmq.errors import UnavailableError
from vlmq.evaluate import evaluate
from vlmq.inputs import default_prefetch
from vlmq.loading import unload
from vlmq.measure.latency import synchronize
from vlmq.models.modes import generate_kwargs
from vlmq.results.measures import batch_timings
from vlmq.session import Case
from vlmq.stats.timing import paired_ratio

PAIRS = 16  # batches timed through both paths (each batch once through each per pair)
TARGET = 1.02  # the harness may cost at most 2% of the model call (issue 12)
STEP_TARGET = 1.05  # its decode step may differ from a bare loop's by at most 5% (issue 21)
TASK = "caption"


def _bare(model: Any, processor: Any, rows: list[dict], image_root: str | None,
          prompts: list[str], max_new_tokens: int, options: dict[str, Any]
          ) -> tuple[float, float, float]:
    """(generate seconds, end-to-end seconds, one-token generate seconds) of one batch through
    plain transformers."""
    import torch

    start = time.perf_counter()
    images = [decode_image(r["image"], str(r["sample_id"]), image_root) for r in rows]
    if getattr(processor, "chat_template", None):
        texts = [processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": p}]}],
            add_generation_prompt=True) for p in prompts]
        inputs = processor(images=images, text=texts, return_tensors="pt", padding=True)
    else:  # BLIP: no chat turn, it captions the image unprompted
        inputs = processor(images=images, return_tensors="pt")
    inputs = inputs.to(model.device, dtype=model.dtype)

    def generate(tokens: int) -> tuple[float, float]:
        with torch.inference_mode():
            synchronize(model.device)
            begin = time.perf_counter()
            model.generate(**inputs, max_new_tokens=tokens, do_sample=False, num_beams=1,
                           **generate_kwargs(options, tokens))
            synchronize(model.device)
        return begin, time.perf_counter()

    begin, end = generate(max_new_tokens)
    one_begin, one_end = generate(1)  # after the batch's end-to-end time: not counted in it
    return end - begin, end - start, one_end - one_begin


def _steps(token_times_s: list[float]) -> tuple[float, float]:
    """(median, mean) decoding step of one batch from the harness's per-step timer."""
    steps = [b - a for a, b in pairwise(token_times_s)]
    return statistics.median(steps), (token_times_s[-1] - token_times_s[0]) / len(steps)


def _judged(values: list[float], base: list[float], target: float, seed: int,
            both_ways: bool = False) -> dict[str, Any] | None:
    """The paired ratio's median and interval, with its verdict against `target`: a cost
    (at most `target`), or `both_ways` a difference (between 2 - target and target)."""
    paired = paired_ratio(values, base, 0.95, 2000, seed)
    if paired:
        low = 2 - target if both_ways else 0.0
        paired["target"] = [low, target] if both_ways else target
        paired["verdict"] = ("within" if low <= paired["low"] and paired["high"] <= target else
                             "outside" if paired["low"] > target or paired["high"] < low else
                             "undecided")
    return paired


def _summary(times: dict[str, list[float]], tokens: int, seed: int) -> dict[str, Any]:
    """The medians, ratios and paired verdicts recorded in extra_info["overhead"]."""
    per_pair = np.array(times["harness"]) / np.array(times["bare"])
    per_pair_e2e = np.array(times["harness_e2e"]) / np.array(times["bare_e2e"])
    medians = {k: 1000 * statistics.median(v) for k, v in times.items() if v}
    out: dict[str, Any] = {
        "bare_generate_median_ms": medians["bare"],
        "harness_model_median_ms": medians["harness"],
        "bare_end_to_end_median_ms": medians["bare_e2e"],
        "harness_end_to_end_median_ms": medians["harness_e2e"],
        "ratio_model": medians["harness"] / medians["bare"],
        "ratio_end_to_end": medians["harness_e2e"] / medians["bare_e2e"],
        "ratio_model_pairs_p10_p90": [float(x) for x in np.percentile(per_pair, [10, 90])],
        "ratio_end_to_end_pairs_p10_p90": [float(x) for x in
                                           np.percentile(per_pair_e2e, [10, 90])],
        "ratio_model_paired": _judged(times["harness"], times["bare"], TARGET, seed),
        "ratio_end_to_end_paired": _judged(times["harness_e2e"], times["bare_e2e"], TARGET,
                                           seed),
    }
    if tokens > 1 and times["harness_step"]:
        bare_steps = [(n - one) / (tokens - 1)
                      for n, one in zip(times["bare"], times["bare_one"], strict=True)]
        out.update({
            "bare_step_median_ms": 1000 * statistics.median(bare_steps),
            "harness_step_median_ms": medians["harness_step"],
            "harness_step_mean_ms": medians["harness_step_mean"],
            "ratio_decode_step_paired": _judged(times["harness_step"], bare_steps,
                                                STEP_TARGET, seed, both_ways=True),
        })
        if min(bare_steps) <= 0:  # paired_ratio then gives no interval: say why
            out["decode_step_note"] = ("a bare step came out at or under zero: this model's "
                                       "steps are below the machine's timing noise")
    return out


def test_harness_overhead(request: pytest.FixtureRequest, benchmark: Any, vlmq_run: Any
                          ) -> None:
    if hasattr(request.config, "workerinput"):
        # two loops timed against each other need the device to themselves; under xdist
        # another worker's model shares it
        pytest.skip("the overhead benchmark needs the device alone: run it without -n")
    session = vlmq_run
    models = [m for m in session.config.models if session.model_kind(m) == "generate"]
    if not models or TASK not in session.tasks_for(models[0]):
        pytest.skip(f"no generative model with the {TASK} task in this run")
    # the run's own attention: BLIP has no sdpa, so `--vlmq-attn eager` must reach this load too
    case = Case(models[0], session.baseline, session.config.attn_implementation[0])
    task, data = session.task(TASK), session.data(TASK)
    size, tokens = session.config.batch_size, session.max_new_tokens(task)
    batches = [list(range(k * size, (k + 1) * size)) for k in range(len(data.dataset) // size)]
    if not batches:
        pytest.skip(f"the {TASK} subset has fewer samples than one batch of {size}")
    try:
        loaded = session.load(case)
    except UnavailableError as exc:  # e.g. BLIP asked for sdpa attention
        pytest.skip(str(exc))
    loaded.generate_options["fixed_new_tokens"] = True  # the same work on both paths
    options = dict(loaded.generate_options)
    try:
        times = _timed_pairs(loaded, task, data, batches, tokens, options, session, benchmark)
    finally:
        unload(loaded)
    overhead = {"model": case.model, "variant": case.variant, "device": session.device,
                "generation": session.config.generation, "batch_size": size,
                "max_new_tokens": tokens, "pairs": PAIRS,
                **_summary(times, tokens, session.config.seed)}
    benchmark.extra_info["overhead"] = overhead
    print(_line(overhead))
    # a gross regression only: the targets (<= 1.02, 1.05) are read from the JSON, where the
    # noise of the machine is recorded beside them
    assert overhead["ratio_model"] < 1.25


def _timed_pairs(loaded: Any, task: Any, data: Any, batches: list[list[int]], tokens: int,
                 options: dict[str, Any], session: Any, benchmark: Any
                 ) -> dict[str, list[float]]:
    """Each path's times over PAIRS batches, alternating which goes first (ABBA)."""
    size = session.config.batch_size
    times: dict[str, list[float]] = {k: [] for k in (
        "bare", "bare_e2e", "bare_one", "harness", "harness_e2e", "harness_step",
        "harness_step_mean")}

    def harness(indices: list[int]) -> None:
        one = replace(data, dataset=data.dataset.select(indices))
        outcome = evaluate(loaded, task, one, batch_size=size, max_new_tokens=tokens,
                           warmup_rounds=0, prefetch=default_prefetch(session.device),
                           show_progress=False)
        (timing,) = batch_timings(outcome.records)
        times["harness"].append(timing.model_s)
        times["harness_e2e"].append(timing.model_s + timing.prepare_s)
        if timing.token_times_s and len(timing.token_times_s) > 1:
            median, mean = _steps(timing.token_times_s)
            times["harness_step"].append(median)
            times["harness_step_mean"].append(mean)

    def bare(indices: list[int]) -> None:
        rows = [data.dataset[i] for i in indices]
        model_s, e2e_s, one_s = _bare(loaded.model, loaded.processor, rows, data.image_root,
                                      [task.prompt(r) for r in rows], tokens, options)
        times["bare"].append(model_s)
        times["bare_e2e"].append(e2e_s)
        times["bare_one"].append(one_s)

    plan = iter(range(PAIRS))

    def pair() -> None:
        k = next(plan)
        indices = batches[k % len(batches)]
        for run in ((bare, harness) if k % 2 == 0 else (harness, bare)):
            run(indices)

    bare(batches[0])  # warm-up of both paths (allocator, first-call costs, both cache
    harness(batches[0])  # lengths: a static cache's shape, and so a compile, depends on it)
    for values in times.values():
        values.clear()
    benchmark.pedantic(pair, rounds=PAIRS, iterations=1)
    return times


def _line(overhead: dict[str, Any]) -> str:
    """The console summary."""
    def paired(key: str) -> str:
        p = overhead.get(key) or {}
        return (f"{p.get('value', float('nan')):.3f} [{p.get('low', float('nan')):.3f}.."
                f"{p.get('high', float('nan')):.3f}] {p.get('verdict')} vs {p.get('target')}")

    line = (f"\nharness/bare: model {overhead['ratio_model']:.3f} (pairs p10-p90 "
            f"{overhead['ratio_model_pairs_p10_p90']}; paired median "
            f"{paired('ratio_model_paired')}), end-to-end {overhead['ratio_end_to_end']:.3f}")
    if "ratio_decode_step_paired" in overhead:
        line += (f"; decode step {overhead['harness_step_median_ms']:.2f} ms (mean "
                 f"{overhead['harness_step_mean_ms']:.2f}) vs bare "
                 f"{overhead['bare_step_median_ms']:.2f}: {paired('ratio_decode_step_paired')}")
    return line
