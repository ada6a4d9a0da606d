"""The embedded default models' checkpoints (one folder each) and the tools that build, train
and evaluate them. Their table, `ZOO`, lives in `vlmq.models.embedded` so the loader need not
import these tools."""

from vlmq.models.embedded import ZOO, zoo_path

__all__ = ["ZOO", "zoo_path"]
