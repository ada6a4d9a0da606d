"""Registries fill themselves from entry points, in a fixed order, and a broken entry point
stops the run with one line that names it."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import vlmq.registry as registry_mod
from vlmq.errors import VlmqError
from vlmq.registry import Registry


@pytest.fixture
def fake_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry[int]:
    """A registry of group `vlmq.test` whose entry points are modules written in tmp_path."""
    reg: Registry[int] = Registry("thing", group="vlmq.test", order=lambda v: -v)
    monkeypatch.setitem(sys.modules, "vlmq_test_holder",
                        types.SimpleNamespace(REG=reg))  # what the modules register into
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "vlmq_test_ok.py").write_text(
        "from vlmq_test_holder import REG\nREG.add('small', 1)\nREG.add('big', 32)\n")
    (tmp_path / "vlmq_test_more.py").write_text(
        "from vlmq_test_holder import REG\nREG.add('mid', 8)\n")
    (tmp_path / "vlmq_test_broken.py").write_text("raise RuntimeError('boom\\nsecond line')\n")
    for name in ("vlmq_test_ok", "vlmq_test_more", "vlmq_test_broken"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    points = [EntryPoint("more", "vlmq_test_more", "vlmq.test"),
              EntryPoint("ok", "vlmq_test_ok", "vlmq.test")]
    monkeypatch.setattr(registry_mod, "entry_points",
                        lambda group: points if group == "vlmq.test" else [])
    reg.points = points  # type: ignore[attr-defined]  (the test adds a broken one)
    return reg


def test_entry_points_register_on_first_read_in_order(fake_group: Registry[int]) -> None:
    assert fake_group._items == {}  # nothing imported before the first read
    assert fake_group.names() == ["big", "mid", "small"]  # by the order key, not load order
    assert fake_group.get("mid") == 8
    with pytest.raises(VlmqError, match="Did you mean 'mid'"):
        fake_group.get("mdi")


def test_a_broken_entry_point_is_one_line_naming_it(fake_group: Registry[int]) -> None:
    fake_group.points.append(  # type: ignore[attr-defined]
        EntryPoint("broken", "vlmq_test_broken", "vlmq.test"))
    with pytest.raises(VlmqError) as info:
        fake_group.names()
    message = str(info.value)
    assert "\n" not in message
    assert "vlmq.test entry point 'broken' (vlmq_test_broken)" in message
    assert "RuntimeError: boom second line" in message


def test_a_name_registered_twice_is_an_error() -> None:
    reg: Registry[int] = Registry("thing")
    reg.add("a", 1)
    with pytest.raises(VlmqError, match="registered twice"):
        reg.add("a", 2)


def test_vlmq_registries_are_filled_from_its_own_entry_points() -> None:
    from vlmq.data.embedded import EMBEDDED
    from vlmq.models import ADAPTERS
    from vlmq.tasks import TASKS
    from vlmq.variants import VARIANTS

    for reg in (VARIANTS, ADAPTERS, TASKS, EMBEDDED):
        assert reg.group and reg.group.startswith("vlmq.")
        assert reg.names(), f"{reg.group}: nothing registered (re-run pip install -e .?)"
