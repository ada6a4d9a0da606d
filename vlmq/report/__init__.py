"""Reports, plots, exports and compare over stored results. Never imports torch.

`build_report` is loaded on first use so that `vlmq compare` does not pay for matplotlib.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "build_report":
        from vlmq.report.build import build_report

        return build_report
    raise AttributeError(name)
