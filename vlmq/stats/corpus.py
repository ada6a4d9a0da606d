"""Corpus metrics recomputed on bootstrap resamples, from statistics cached once per sample.

A resample is a vector of multiplicities w (how often each sample was drawn; sum = n; a
jackknife row leaves one sample out with weight 0). Every
estimator here maps a (B, n) matrix of them to B corpus values, vectorized:

- means of per-sample scores (accuracy, VQA accuracy, top-k, ROUGE-L): exact, w @ x / n;
- BLEU-4 as pycocoevalcap computes it: clipped n-gram matches, guesses and the closest reference
  length are summed over the resample, then the corpus brevity penalty applies: exact;
- CIDEr-D as pycocoevalcap computes it: its tf-idf clipping min(tf_h idf, tf_r idf) tf_r idf
  equals min(tf_h, tf_r) tf_r idf^2, so every dot product and norm is linear in the squared idf
  of each n-gram. The document frequencies (and so the idf) are recomputed on each resample from
  a sample x n-gram incidence matrix, then three sparse products give every score: exact;
- METEOR (whose corpus value is not a mean of its per-sample values) and the weighted F1 use
  the mean of per-sample scores; see `vlmq.stats.bootstrap` for how that is centred.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

ORDERS = 4
CIDER_SIGMA = 6.0
_TINY, _SMALL = 1e-15, 1e-9  # pycocoevalcap's guards against 0/0 in BLEU


def ngram_counts(sentence: str, orders: int = ORDERS) -> Counter:
    words = sentence.split()
    return Counter(tuple(words[i:i + k]) for k in range(1, orders + 1)
                   for i in range(len(words) - k + 1))


def mean_values(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Corpus means of per-sample `scores` under each row of resample `weights`."""
    return weights @ scores / weights.sum(axis=1)


def bleu_stats(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> np.ndarray:
    """Per sample: [hyp length, closest reference length, matches_1..4, guesses_1..4]."""
    out = np.zeros((len(hyps), 2 + 2 * ORDERS))
    for i, (hyp, rs) in enumerate(zip(hyps, refs, strict=True)):
        maxref: Counter = Counter()
        for r in rs:
            maxref |= ngram_counts(r)  # | keeps the larger count: the clipping bound
        length = len(hyp.split())
        ref_lens = [len(r.split()) for r in rs]
        out[i, 0] = length
        out[i, 1] = min((abs(rl - length), rl) for rl in ref_lens)[1]
        for gram, count in ngram_counts(hyp).items():
            out[i, 1 + len(gram)] += min(count, maxref.get(gram, 0))
        for k in range(1, ORDERS + 1):
            out[i, 1 + ORDERS + k] = max(0, length - k + 1)
    return out


def bleu_values(stats: np.ndarray, weights: np.ndarray, order: int = ORDERS) -> np.ndarray:
    """Corpus BLEU-`order` (pycocoevalcap, closest reference length) under each resample."""
    tot = weights @ stats  # (B, 10)
    logp = np.zeros(len(tot))
    for k in range(1, order + 1):
        logp += np.log((tot[:, 1 + k] + _TINY) / (tot[:, 1 + ORDERS + k] + _SMALL))
    bleu = np.exp(logp / order)
    ratio = (tot[:, 0] + _TINY) / (tot[:, 1] + _SMALL)
    return np.where(ratio < 1, bleu * np.exp(1 - 1 / np.minimum(ratio, 1)), bleu)


class CiderTables:
    """CIDEr-D of one or more hypothesis sets against shared references, on any resample."""

    def __init__(self, refs: Sequence[Sequence[str]]) -> None:
        self.n = len(refs)
        self._vocab: dict[tuple, int] = {}
        ref_counts = [[ngram_counts(r) for r in rs] for rs in refs]
        self._ref_counts = ref_counts
        rows, cols = [], []
        for i, rs in enumerate(ref_counts):
            grams = {self._id(g) for c in rs for g in c}
            rows += [i] * len(grams)
            cols += sorted(grams)
        self._doc_rows, self._doc_cols = rows, cols
        # a hypothesis set's matrices, built once: the gates call `values` on the same sets for
        # the bootstrap and again for the jackknife, and the build is the slow, Python part
        self._built: dict[tuple[str, ...], tuple] = {}
        self._values: dict[tuple, np.ndarray] = {}  # (set, weights' shape and digest, chunk)

    def _id(self, gram: tuple) -> int:
        return self._vocab.setdefault(gram, len(self._vocab))

    def _matrices(self, hyps: Sequence[str]) -> tuple:
        key = tuple(hyps)
        if key not in self._built:
            self._built[key] = self._hyp_matrices(hyps)
        return self._built[key]

    def _hyp_matrices(self, hyps: Sequence[str]) -> tuple:
        """Sparse rows per (sample, ref, order): matches and ref norms; per (sample, order):
        hypothesis norms; plus the length penalty per (sample, ref)."""
        a_r, a_c, a_v, r_r, r_c, r_v, h_r, h_c, h_v = ([] for _ in range(9))
        pair_sample, pair_penalty = [], []
        for i, (hyp, rs) in enumerate(zip(hyps, self._ref_counts, strict=True)):
            hc = ngram_counts(hyp)
            h_len = max(0, len(hyp.split()) - 1)  # pycocoevalcap counts bigrams as "length"
            for g, tf in hc.items():
                h_r.append(i * ORDERS + len(g) - 1)
                h_c.append(self._id(g))
                h_v.append(tf * tf)
            for rc in rs:
                p = len(pair_sample)
                r_len = sum(tf for g, tf in rc.items() if len(g) == 2)
                pair_sample.append(i)
                pair_penalty.append(np.exp(-((h_len - r_len) ** 2) / (2 * CIDER_SIGMA ** 2)))
                for g, tf in rc.items():
                    r_r.append(p * ORDERS + len(g) - 1)
                    r_c.append(self._id(g))
                    r_v.append(tf * tf)
                    if g in hc:
                        a_r.append(p * ORDERS + len(g) - 1)
                        a_c.append(self._id(g))
                        a_v.append(min(hc[g], tf) * tf)
        pairs = len(pair_sample)
        return (a_r, a_c, a_v, r_r, r_c, r_v, h_r, h_c, h_v, pairs, np.array(pair_sample),
                np.array(pair_penalty))

    def values(self, hyp_sets: Sequence[Sequence[str]], weights: np.ndarray,
               chunk: int = 64) -> list[np.ndarray]:
        """Corpus CIDEr-D of each hypothesis set under each row of `weights` (B, n). A set's
        values under the same weights are kept: every variant's gate resamples the baseline's
        captions with the same seeded weights, so the baseline's half is computed once a run."""
        digest = hashlib.blake2b(np.ascontiguousarray(weights).tobytes(), digest_size=16)
        keys = [(tuple(h), weights.shape, digest.hexdigest(), chunk) for h in hyp_sets]
        todo = [k for k in dict.fromkeys(keys) if k not in self._values]
        if todo:
            fresh = self._computed([k[0] for k in todo], weights, chunk)
            self._values.update(zip(todo, fresh, strict=True))
        return [self._values[k] for k in keys]

    def _computed(self, hyp_sets: Sequence[Sequence[str]], weights: np.ndarray,
                  chunk: int) -> list[np.ndarray]:
        built = [self._matrices(h) for h in hyp_sets]
        g = len(self._vocab)
        docs = sparse.csr_matrix((np.ones(len(self._doc_rows)), (self._doc_rows,
                                 self._doc_cols)), shape=(self.n, g))
        mats = []
        for a_r, a_c, a_v, r_r, r_c, r_v, h_r, h_c, h_v, pairs, sample, penalty in built:
            shape_p = (pairs * ORDERS, g)
            mats.append((sparse.csr_matrix((a_v, (a_r, a_c)), shape=shape_p),
                         sparse.csr_matrix((r_v, (r_r, r_c)), shape=shape_p),
                         sparse.csr_matrix((h_v, (h_r, h_c)), shape=(self.n * ORDERS, g)),
                         sample, penalty))
        outs = [np.empty(len(weights)) for _ in hyp_sets]
        for start in range(0, len(weights), chunk):
            w = weights[start:start + chunk]  # (b, n)
            size = w.sum(axis=1)  # n, or n - 1 for a jackknife row
            df = (docs.T @ w.T)  # (g, b): resampled document frequencies
            idf2 = (np.log(size)[None, :] - np.log(np.maximum(1.0, df))) ** 2
            for out, (a, r, h, sample, penalty) in zip(outs, mats, strict=True):
                num = (a @ idf2).reshape(-1, ORDERS, w.shape[0])
                nr = (r @ idf2).reshape(-1, ORDERS, w.shape[0])
                nh = (h @ idf2).reshape(self.n, ORDERS, w.shape[0])[sample]
                den = np.sqrt(nr * nh)
                val = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
                per_pair = val.sum(axis=1) * penalty[:, None]  # (pairs, b)
                refs_per = np.bincount(sample, minlength=self.n)
                per_sample = np.zeros((self.n, w.shape[0]))
                np.add.at(per_sample, sample, per_pair)
                per_sample *= 10.0 / (ORDERS * refs_per[:, None])
                out[start:start + chunk] = np.einsum("bn,nb->b", w, per_sample) / size
        return outs


@functools.lru_cache(maxsize=8)
def cider_tables(refs: tuple[tuple[str, ...], ...]) -> CiderTables:
    """The tables of one reference set, shared by every variant's gate on that task."""
    return CiderTables(refs)
