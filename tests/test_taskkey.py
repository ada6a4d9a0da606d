"""Task keys format and parse in one place: `caption`, `caption-full`, `caption@256`."""

from __future__ import annotations

import pytest

from vlmq.results.benchjson import benchmark_params
from vlmq.results.taskkey import TaskKey


@pytest.mark.parametrize(("text", "key"), [
    ("caption", TaskKey("caption")),
    ("caption-full", TaskKey("caption", full=True)),
    ("caption@256", TaskKey("caption", look=256)),
    ("vqa-text@32", TaskKey("vqa-text", look=32)),
])
def test_round_trip(text: str, key: TaskKey) -> None:
    assert TaskKey.parse(text) == key
    assert str(key) == text


def test_a_look_of_a_key_and_refusals() -> None:
    assert TaskKey("caption").at_look(64) == TaskKey.parse("caption@64")
    assert TaskKey.parse("caption@x") == TaskKey("caption@x")  # not a look: no size
    with pytest.raises(ValueError):
        TaskKey("caption", full=True, look=64)


def test_params_name_the_task_not_its_key() -> None:
    params = benchmark_params("m", "int8", "sdpa", "caption-full")
    assert params == {"model": "m", "variant": "int8", "attn": "sdpa", "task": "caption"}
    assert benchmark_params("m", "int8", "sdpa", "caption@256")["task"] == "caption"
