"""ResultInfo writes TaskResult.info in the layout results have always had: every field, the
xdist worker and the look of --vlmq-samples auto only where they apply."""

from __future__ import annotations

import dataclasses
import json

from vlmq.results.info import Look, ResultInfo
from vlmq.results.schema import TaskResult

CORE = dict(model="m", variant="int8", task="vqa", base_variant="int8",
            attn_implementation="sdpa", dataset="d", split="test", device="cpu",
            baseline="fp32", run_id="r", baseline_model="m", bits=8, samples=4,
            failed_samples=0, over_context=0, batch_size=2, max_new_tokens=None, seed=0,
            family="llava", threads=2, generation=None, fixed_new_tokens=False)


def test_core_fields_always_optional_ones_where_set() -> None:
    plain = ResultInfo(**CORE).to_dict()
    assert list(plain) == list(CORE) and plain["max_new_tokens"] is None
    look = Look(n=64, of=3, sizes=[64, 256, 1000], confidence=0.983)
    full = ResultInfo(**CORE, worker="gw1", look=look).to_dict()
    assert list(full) == [*CORE, "worker", "look"]
    assert full["look"] == {"n": 64, "of": 3, "sizes": [64, 256, 1000], "confidence": 0.983}


def test_round_trips_through_a_stored_result() -> None:
    info = ResultInfo(**CORE, look=Look(4, 2, [4, 8], 0.975)).to_dict()
    result = TaskResult(info={**info, "from_a_hook": 1})  # hooks may add fields of their own
    back = TaskResult.from_extra_info(json.loads(json.dumps(result.to_extra_info())))
    assert back.info == result.info
    assert {f.name for f in dataclasses.fields(ResultInfo)} - {"worker"} <= set(back.info)
