"""Which appeals report the same event: similarity links, and the grouping methods built on them.

* :func:`similar_pairs` finds every pair whose keyword-vector dot product reaches the threshold and that
  was written within ``max_gap_days``, block by block, so memory holds one block of products at a time.
* :class:`SiteLinker` is the kept method (``linkage``): pairs are joined strongest first into groups
  (single linkage, a union-find), except that two groups are never joined when they name different sites
  (:func:`~minyi_nlp.hotspots.places.sites_conflict`). It takes pairs in any number of batches, so the
  scaled path feeds it one time window after another.
* :func:`average_groups` (average-linkage agglomerative clustering) and :func:`hdbscan_groups` are the
  methods it was compared with; they need the full similarity matrix and run on inputs that fit in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.sparse as sp

from minyi_nlp.hotspots.places import sites_conflict

__all__ = ["SiteLinker", "average_groups", "conflict_matrix", "hdbscan_groups", "similar_pairs"]

_BLOCK = 2000
_NO_TIME = np.iinfo(np.int64).min


def similar_pairs(
    vectors: sp.csr_matrix,
    threshold: float,
    *,
    times: np.ndarray | None = None,
    max_gap_s: float | None = None,
    block: int = _BLOCK,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, similarity)`` with ``i < j`` for every pair at or above ``threshold`` (row positions).

    ``times`` are int64 seconds (``int64 min`` = unknown); pairs further apart than ``max_gap_s`` are left
    out unless one time is unknown.
    """
    n = vectors.shape[0]
    vt = vectors.T.tocsr()
    out_i, out_j, out_s = [], [], []
    for start in range(0, n, block):
        prod = (vectors[start : start + block] @ vt).tocoo()
        rows = prod.row.astype(np.int64) + start
        keep = (prod.col > rows) & (prod.data >= threshold)
        i, j, s = rows[keep], prod.col[keep].astype(np.int64), prod.data[keep]
        if times is not None and max_gap_s is not None and len(i):
            ti, tj = times[i], times[j]
            known = (ti != _NO_TIME) & (tj != _NO_TIME)
            near = ~known | (np.abs(ti - tj) <= max_gap_s)
            i, j, s = i[near], j[near], s[near]
        out_i.append(i)
        out_j.append(j)
        out_s.append(s)
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_s).astype(np.float32)


class SiteLinker:
    """Union-find over ``n`` appeals that never joins two groups naming different sites.

    A group's site signature is the union of its members' (:func:`~minyi_nlp.hotspots.places.site_signature`);
    :meth:`add` is given the signatures of the appeals in its pairs, and only groups of two or more keep
    theirs, so memory grows with the grouped appeals, not with the input.
    """

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n, dtype=np.int64)
        self.size = np.ones(n, dtype=np.int64)
        self._sig: dict[int, frozenset[str]] = {}
        self.refused = 0

    def grow(self, n: int) -> None:
        """Make room for appeals ``0 … n-1`` (new ones start alone; capacity doubles, so adding one at a time
        is amortised O(1))."""
        have = len(self.parent)
        if n <= have:
            return
        new = max(n, 2 * have, 1024)
        self.parent = np.concatenate([self.parent, np.arange(have, new, dtype=np.int64)])
        self.size = np.concatenate([self.size, np.ones(new - have, dtype=np.int64)])

    def find(self, k: int) -> int:
        parent = self.parent
        root = k
        while parent[root] != root:
            root = parent[root]
        while parent[k] != root:  # path compression
            parent[k], k = root, parent[k]
        return int(root)

    def add(
        self, i: np.ndarray, j: np.ndarray, sim: np.ndarray, signatures: Mapping[int, frozenset[str]] | None = None
    ) -> None:
        """Join the pairs ``(i[k], j[k])`` strongest first where the sites allow it.

        ``signatures`` maps an appeal to its site signature (absent: it names no site).
        """
        empty: frozenset[str] = frozenset()
        own = signatures or {}
        for k in np.argsort(-sim, kind="stable"):
            a, b = self.find(int(i[k])), self.find(int(j[k]))
            if a == b:
                continue
            sa = self._sig.get(a, empty) if self.size[a] > 1 else own.get(a, empty)
            sb = self._sig.get(b, empty) if self.size[b] > 1 else own.get(b, empty)
            if sites_conflict(sa, sb):
                self.refused += 1
                continue
            if self.size[a] < self.size[b]:
                a, b, sa, sb = b, a, sb, sa
            self.parent[b] = a
            self.size[a] += self.size[b]
            self._sig.pop(b, None)
            if sa or sb:
                self._sig[a] = sa | sb

    def labels(self) -> np.ndarray:
        """Group label per appeal: the smallest index in its group (the same whatever order the links came in)."""
        parent = self.parent.copy()
        while True:  # pointer jumping until every appeal points at its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        smallest = np.arange(len(parent), dtype=np.int64)
        np.minimum.at(smallest, parent, np.arange(len(parent), dtype=np.int64))
        return smallest[parent]


def conflict_matrix(signatures: Sequence[frozenset[str]]) -> sp.csr_matrix:
    """Boolean ``n × n`` matrix, True where two appeals name different sites."""
    grams = sorted({g for s in signatures for g in s})
    col = {g: c for c, g in enumerate(grams)}
    rows = [r for r, s in enumerate(signatures) for _ in s]
    cols = [col[g] for s in signatures for g in s]
    m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(signatures), len(grams)))
    shared = (m @ m.T).toarray() > 0
    has = np.asarray(m.sum(axis=1)).ravel() > 0
    return sp.csr_matrix(np.outer(has, has) & ~shared)


def _distance_matrix(vectors: sp.csr_matrix, signatures: Sequence[frozenset[str]] | None) -> np.ndarray:
    sim = (vectors @ vectors.T).toarray()
    if signatures is not None:
        sim[conflict_matrix(signatures).toarray()] = 0.0
    np.fill_diagonal(sim, 1.0)
    return np.clip(1.0 - sim, 0.0, 1.0)


def average_groups(
    vectors: sp.csr_matrix, threshold: float, signatures: Sequence[frozenset[str]] | None = None
) -> np.ndarray:
    """Average-linkage agglomerative groups (mean similarity ≥ ``threshold``); conflicting sites count as 0."""
    from sklearn.cluster import AgglomerativeClustering

    if vectors.shape[0] < 2:
        return np.zeros(vectors.shape[0], np.int64)
    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - threshold
    )
    return model.fit_predict(_distance_matrix(vectors, signatures)).astype(np.int64)


def hdbscan_groups(
    vectors: sp.csr_matrix,
    signatures: Sequence[frozenset[str]] | None = None,
    *,
    min_cluster_size: int = 5,
    min_samples: int = 3,
) -> np.ndarray:
    """HDBSCAN groups on ``1 − similarity``; noise points become groups of one."""
    from sklearn.cluster import HDBSCAN

    n = vectors.shape[0]
    if n < max(min_cluster_size, 2):
        return np.arange(n, dtype=np.int64)
    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, metric="precomputed", copy=True)
    labels = model.fit_predict(_distance_matrix(vectors, signatures)).astype(np.int64)
    noise = labels < 0
    labels[noise] = labels.max() + 1 + np.arange(int(noise.sum()))
    return labels
