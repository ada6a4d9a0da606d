"""vlmq: a pytest-benchmark harness for quantized vision-language models.

The library knows nothing of pytest outside `vlmq/plugin/`; the plugin and `benchmarks/` are
the thin pytest layer that calls it.
"""

__version__ = "0.1.0"
