"""Hooks vlmq adds to pytest, named like pytest-benchmark's `pytest_benchmark_*`: implement them
in a conftest.py or a plugin (registered by `pytest_addhooks` in vlmq.plugin.plugin)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec(historic=True)
def pytest_vlmq_register(config: pytest.Config, variants: Any, models: Any, tasks: Any,
                         datasets: Any) -> None:
    """Add variants, model families, tasks or embedded datasets to vlmq's registries.

    Called once at configure time, and at once for any conftest.py registered later (a
    historic hook). The arguments are the registries themselves (vlmq.registry.Registry):
    `variants.add("my-int8", MyVariant(...))`, `models.add(model_type, adapter)`,
    `tasks.add(name, task)`, `datasets.add(name, EmbeddedSet(...))`. What a package installs
    through the `vlmq.*` entry-point groups needs no hook.
    """


def pytest_vlmq_update_extra_info(config: pytest.Config, extra_info: dict[str, Any],
                                  params: dict[str, str]) -> None:
    """Change one benchmark's `extra_info` (its entry in --benchmark-json) in place, after vlmq
    has filled it and before the gates run. `params` are the entry's plain-string params
    (model, variant, attn, task). For the whole JSON use pytest-benchmark's own
    `pytest_benchmark_update_json`.
    """
