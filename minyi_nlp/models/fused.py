"""Every linear head's weights side by side over the whole vocabulary: one product scores them all.

Each :class:`~minyi_nlp.models.heads.LinearHead` gathers the weight rows a batch uses, dequantises them and
multiplies the batch by them: with four linear heads that is four gathers and four walks over the same nonzeros.
A batch process can afford the weights dequantised once, in float32, over every encoder column (a column a head
does not read is a row of zeros in its block). Then one column-major product of a batch gives every linear head's
scores, and each head reads its own block of columns.

The scores are those of :meth:`LinearHead.scores` to the bit: each is the same float32 terms summed in the same
column order, and a zero row adds exact zeros (tested on real appeals). The cost is the matrix: encoder columns ×
all heads' score columns × 4 bytes, ≈ 50 MB for the default bundle. The service keeps its int8 rows memory-mapped
and shared instead; batch processes build this (:func:`minyi_nlp.batch.predict.ready_for_batches`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from minyi_nlp.models.heads import LinearHead, PerMatrix


class FusedHeads:
    """The weights of ``heads`` (linear heads over one encoder) as one float32 matrix, columns × Σ score columns."""

    def __init__(self, heads: Sequence[LinearHead]) -> None:
        if not heads:
            raise ValueError("no linear heads to fuse")
        n = heads[0].n_features_
        if any(h.n_features_ != n for h in heads):
            raise ValueError(f"heads read different encoders: {sorted({h.n_features_ for h in heads})} columns")
        widths = [h.W_.shape[1] for h in heads]
        self.weights = np.zeros((n, sum(widths)), np.float32)
        self._blocks: dict[int, tuple[int, int]] = {}
        start = 0
        for head, width in zip(heads, widths, strict=True):
            self.weights[np.asarray(head.cols_), start : start + width] = head.weight_rows(np.arange(len(head.cols_)))
            self._blocks[id(head)] = (start, start + width)
            start += width
        # per thread, the products of the last few matrices (a batch has one; a bench timing each head over a few
        # batches reuses them)
        self._products = PerMatrix(self.product, keep=4)

    def product(self, X: sp.csr_matrix) -> np.ndarray:
        """``X @ weights`` (n, Σ score columns), float32, column-major: each weight row is read once per batch."""
        return sp.csc_matrix(X) @ self.weights

    def scores(self, head: LinearHead, X: sp.csr_matrix) -> np.ndarray:
        """``head.scores(X)`` for one of the fused heads, from one product per matrix ``X``."""
        start, end = self._blocks[id(head)]
        return np.asarray(self._products(X)[:, start:end], dtype=np.float64) + head.b_
