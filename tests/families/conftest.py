"""Fixtures of the family tests: the tiny models are built once per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tiny_families import BUILDERS


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], str]:
    """family -> folder of its saved tiny model, built once per session on first use."""
    root = tmp_path_factory.mktemp("tiny-families")
    built: dict[str, str] = {}

    def get(family: str) -> str:
        if family not in built:
            built[family] = str(BUILDERS[family](root / family))
        return built[family]

    return get


@pytest.fixture(autouse=True)
def _quiet_bitsandbytes() -> None:
    import logging

    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
