"""Project tests: offline, fast, CPU. Heavier ones carry `slow`; CUDA ones `gpu`."""

import os

import pytest

# Nothing may reach the hub from the tests: with these set a hub id fails in ~2 s, not ~25 s.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; this machine has none")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip)
