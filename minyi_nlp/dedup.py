"""Group appeals that are the same appeal in different files (raw text vs jieba-segmented text).

The Teddy Cup segmented file dropped stop words, punctuation and the letter "A", so exact matching
fails. We compare sets of CJK character bigrams: bigrams *inside* segmented tokens always occur in
the raw text of the same appeal, so a segmented row whose in-token bigrams are almost all contained
in a raw row (``containment``) and that covers a fair share of it (``coverage``) is the same appeal.
Rows of the same kind are linked when their bigram sets are nearly identical (cosine).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import CountVectorizer

_NON_CJK = re.compile(r"[^\u4e00-\u9fff]+")


def _bigrams(chunk: str) -> set[str]:
    cjk = _NON_CJK.sub("", chunk)
    return {cjk[i : i + 2] for i in range(len(cjk) - 1)}


def bigram_set(text: str, pretokenized: bool) -> list[str]:
    """Distinct CJK bigrams; for pretokenized text only those inside a token are certain."""
    if not pretokenized:
        return sorted(_bigrams(text))
    out: set[str] = set()
    for token in text.split():
        out |= _bigrams(token)
    return sorted(out)


def _identity(x: list[str]) -> list[str]:
    return x


def duplicate_groups(
    texts: Sequence[str],
    pretokenized: Sequence[bool],
    *,
    containment: float = 0.85,
    coverage: float = 0.10,
    same_kind_cosine: float = 0.95,
    min_shared: int = 3,
) -> np.ndarray:
    """Return a group id per row; rows with the same id are one appeal."""
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pre = np.asarray(pretokenized, dtype=bool)
    sets = [bigram_set(str(t), bool(p)) for t, p in zip(texts, pre, strict=True)]
    vec = CountVectorizer(analyzer=_identity, binary=True, dtype=np.float32)
    X = vec.fit_transform(sets).tocsr()
    sizes = np.asarray(X.sum(axis=1)).ravel()
    seg_idx = np.flatnonzero(pre)
    raw_idx = np.flatnonzero(~pre)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []

    if len(seg_idx) and len(raw_idx):
        inter = (X[seg_idx] @ X[raw_idx].T).tocoo()
        s, r = seg_idx[inter.row], raw_idx[inter.col]
        keep = (
            (inter.data >= min_shared)
            & (inter.data >= containment * sizes[s])
            & (inter.data >= coverage * sizes[r])
        )
        rows.append(s[keep])
        cols.append(r[keep])

    norms = np.sqrt(np.maximum(sizes, 1.0))
    for idx in (seg_idx, raw_idx):
        if len(idx) < 2:
            continue
        sub = X[idx]
        sim = (sub @ sub.T).tocoo()
        cos = sim.data / (norms[idx[sim.row]] * norms[idx[sim.col]])
        keep = (sim.row < sim.col) & (cos >= same_kind_cosine) & (sim.data >= min_shared)
        rows.append(idx[sim.row[keep]])
        cols.append(idx[sim.col[keep]])

    # identical empty-bigram texts (very short) are linked on exact text
    exact: dict[str, int] = {}
    for i, t in enumerate(texts):
        key = _NON_CJK.sub("", str(t))
        if key in exact:
            rows.append(np.array([exact[key]]))
            cols.append(np.array([i]))
        else:
            exact[key] = i

    r_all = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    c_all = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    graph = sp.coo_matrix((np.ones(len(r_all)), (r_all, c_all)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)
