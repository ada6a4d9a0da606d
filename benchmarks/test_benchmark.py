"""One benchmark per model x variant x task: speed, memory, size, energy, quality, retention.

Parametrized by the vlmq plugin (`vlmq_model`, `vlmq_task`) from the registries and the
--vlmq-* options; the work is done by the library (`vlmq.session`).
"""

import pytest


def test_task(vlmq_benchmark):
    """Fast subset (--vlmq-samples, default 128): the default run and the CI gate."""
    vlmq_benchmark(full=False)


@pytest.mark.slow
def test_task_full(vlmq_benchmark):
    """The whole evaluation split (-m slow)."""
    vlmq_benchmark(full=True)
