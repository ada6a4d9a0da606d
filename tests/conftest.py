"""Project tests: offline, fast, CPU. Heavier ones carry `slow`; CUDA ones `gpu`."""

import importlib.util
import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]  # in-process benchmark runs (tests/test_bad_values.py)

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


@pytest.fixture
def fashion_mnist() -> None:
    """Skip, with the reason, a test that needs Debian's Fashion-MNIST where it is absent (the
    vit-tiny benchmarks classify it)."""
    from vlmq.data.embedded.fashion import unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def tiny_llava(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A saved tiny random LLaVA (real config classes), built once per test session."""
    path = Path(__file__).parent / "families" / "tiny_families.py"
    spec = importlib.util.spec_from_file_location("tiny_families", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.build_llava(tmp_path_factory.mktemp("tiny") / "llava"))
