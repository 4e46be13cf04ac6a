"""Sparse sketches: the ``m`` heaviest features of an L2-normalised sparse vector, stored in fixed-size rows.

The similar-appeal index keeps one sketch per stored appeal (``m`` uint32 feature ids + ``m`` float16
weights, 6·m bytes) so that it can re-rank dense-retrieval candidates with the *exact* sparse cosine of
their heaviest features: two appeals about the same place and event share rare words and character
n-grams (the estate's name, the road, the company) that a 256-dimensional projection blurs. Sketches are
renormalised, so the cosine of two identical texts is 1. Feature ids are whatever the encoder uses
(vocabulary columns or hashes); only equality matters.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["EMPTY", "sketch_cosine", "sketch_rows"]

EMPTY = np.uint32(0xFFFFFFFF)  # padding id: never a feature


def sketch_rows(X: sp.spmatrix | sp.sparray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ids, weights)`` of shape ``(n, m)``: each row's ``m`` largest entries, renormalised to unit length.

    Rows with fewer entries are padded with :data:`EMPTY` ids and zero weights; ids are sorted per row.
    """
    X = sp.csr_matrix(X, dtype=np.float32)
    X.sum_duplicates()  # also sorts the column ids of each row
    n = X.shape[0]
    if X.shape[1] > int(EMPTY):
        raise ValueError(f"sparse vectors have {X.shape[1]} columns; sketches hold feature ids below 2**32 - 1")
    ids = np.full((n, m), EMPTY, dtype=np.uint32)
    weights = np.zeros((n, m), dtype=np.float32)
    nnz = np.diff(X.indptr)
    short = np.flatnonzero(nnz <= m)  # rows that fit whole: one vectorised copy
    if len(short):
        rows = np.repeat(short, nnz[short])
        starts = X.indptr[short]
        pos = np.arange(len(rows)) - np.repeat(np.cumsum(nnz[short]) - nnz[short], nnz[short])
        src = np.repeat(starts, nnz[short]) + pos
        ids[rows, pos] = X.indices[src]
        weights[rows, pos] = np.abs(X.data[src])
    for i in np.flatnonzero(nnz > m):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        cols, vals = X.indices[lo:hi], np.abs(X.data[lo:hi])
        top = np.sort(np.argpartition(-vals, m - 1)[:m])
        ids[i], weights[i] = cols[top], vals[top]
    norms = np.linalg.norm(weights, axis=1, keepdims=True)
    np.divide(weights, norms, out=weights, where=norms > 0)
    return ids, weights.astype(np.float16)


def sketch_cosine(q_ids: np.ndarray, q_weights: np.ndarray, ids: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Cosine of one query sketch ``(m,)`` with each candidate sketch ``(c, m)``; 0 where nothing is shared."""
    keep = q_ids != EMPTY
    q_ids, q_w = q_ids[keep], q_weights[keep].astype(np.float32)
    if len(q_ids) == 0 or len(ids) == 0:
        return np.zeros(len(ids), dtype=np.float32)
    order = np.argsort(q_ids)
    q_ids, q_w = q_ids[order], q_w[order]
    pos = np.searchsorted(q_ids, ids).clip(max=len(q_ids) - 1)
    hit = q_ids[pos] == ids
    return (np.where(hit, q_w[pos], 0.0) * weights.astype(np.float32)).sum(axis=1)
