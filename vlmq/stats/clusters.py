"""Resampling clusters, not samples, where samples share an image (or any grouping key).

easy-vqa asks about 10 questions per image and VQAv2 about 5: questions on one image succeed or
fail together, so the paired differences are correlated within an image and a bootstrap that
draws questions as if independent gives intervals that are too narrow. Drawing whole images
with replacement (every question of a drawn image, as often as it is drawn) keeps that
correlation; it is the bootstrap counterpart of clustered standard errors (lmms-eval offers
those for the same reason). The jackknife of the BCa acceleration then leaves out one image at a
time, and the small-sample expansion counts images, not questions.

Weights stay a (resamples, n) matrix of per-sample multiplicities, so every corpus estimator of
`vlmq.stats.bootstrap` (means, CIDEr-D, BLEU) works unchanged; row sums now vary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def cluster_codes(ids: Sequence[Any]) -> np.ndarray:
    """0..G-1 codes of the cluster ids, in order of first appearance."""
    seen: dict[Any, int] = {}
    return np.array([seen.setdefault(i, len(seen)) for i in ids], dtype=int)


def clustered(codes: np.ndarray | None, n: int) -> bool:
    """Worth resampling by cluster: ids for every sample, and fewer clusters than samples."""
    return codes is not None and len(codes) == n and 1 < int(codes.max()) + 1 < n


def cluster_weights(codes: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) sample multiplicities from drawing G clusters with replacement."""
    groups = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(groups, np.full(groups, 1.0 / groups), size=resamples)
    return draws[:, codes].astype(float)


def leave_one_cluster_out(codes: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Weight rows for clusters start..stop-1, row g dropping every sample of cluster g."""
    return (codes[None, :] != np.arange(start, stop)[:, None]).astype(float)
