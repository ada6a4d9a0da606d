"""vlmq's pytest plugin, installed through the `pytest11` entry point `vlmq` (as pytest-benchmark
installs its own): a repository that `pip install`s vlmq gets the `--vlmq-*` options, the
markers, the `vlmq_run` / `vlmq_model` / `vlmq_task` / `vlmq_benchmark` fixtures and the hooks of
`vlmq.plugin.hookspecs` without a conftest of its own.

This package is the only place in vlmq that imports pytest; it turns options into a
`vlmq.config.RunConfig` and calls the library.
"""
