"""A benchmark session (`BenchmarkSession`, the facade in `facade.py`) and the parts it wires:
the plan, the task data, the runner, the judge and the `auto` looks."""

from vlmq.session.case import Case, Held
from vlmq.session.facade import BenchmarkSession

__all__ = ["BenchmarkSession", "Case", "Held"]
