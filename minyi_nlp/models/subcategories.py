"""Sub-categories as the dispatcher shows them: the tree head reconciled with the category head.

The tree head (:mod:`minyi_nlp.models.tree_head`) gives P(一级) over the 15 一级 of ``taxonomy.yaml`` and
P(child | parent) below. The category head knows 7 of the 一级 (the Teddy Cup labels) and is trained on
real labels, so for those it decides the order:

    m        = Σ_{c ∈ category labels} P_tree(c)          (the tree head: "one of the seven")
    P(c)     = m · P_category(c)                           for a 一级 the category head knows
    P(c)     = P_tree(c)                                   for the other 一级 (政法, 民政, 农村农业 …)
    P(path)  = P(一级) · P_tree(二级 | 一级) · P_tree(三级 | 二级)

So the 一级 still sum to 1, the seven rank as in the suggestion's ``categories``, P(一级) never exceeds the
category head's probability for it, and a child's probability never exceeds its parent's.

:func:`decided_keys` picks, under each 一级, the most specific node whose probability reaches a threshold
(else the 一级 itself): the key the duty list and the SLA list are read with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from minyi_nlp.models.tree_head import TreeHead


@dataclass(frozen=True)
class DecidedKey:
    """The key a 一级's mass is routed with: ``key`` (a node path) with its own probability ``score``, and
    the 一级's probability ``mass``."""

    key: str
    score: float
    mass: float


def reconcile(proba: np.ndarray, tree: TreeHead, category_proba: np.ndarray,
              category_labels: Sequence[str]) -> np.ndarray:
    """The tree head's node probabilities with the 一级 the category head knows taken from it (see the
    module docstring); ``category_proba`` columns in ``category_labels`` order."""
    names = tree.labels
    top = tree.top_nodes
    known = [(j, category_labels.index(names[j])) for j in top if names[j] in category_labels]
    if not known:
        return proba
    nodes, cols = (np.asarray(v) for v in zip(*known, strict=True))
    cat = np.asarray(category_proba, np.float64)[:, cols]
    total = cat.sum(axis=1, keepdims=True)
    cat = np.divide(cat, total, out=np.full_like(cat, 1.0 / len(cols)), where=total > 0)
    new_top = proba[:, top].copy()
    pos = np.searchsorted(top, nodes)
    new_top[:, pos] = proba[:, nodes].sum(axis=1, keepdims=True) * cat
    old_top = proba[:, top]
    ratio = np.divide(new_top, old_top, out=np.zeros_like(new_top), where=old_top > 0)
    out = proba * ratio[:, np.searchsorted(top, tree.root_)]
    out[:, top] = new_top
    return out


def subcategory_proba(tree: TreeHead, X: sp.csr_matrix, category_proba: np.ndarray | None = None,
                      category_labels: Sequence[str] | None = None) -> np.ndarray:
    """P(node) for every node of the tree head (n, nodes), reconciled with the category head when given."""
    proba = tree.predict_proba(X)
    if category_proba is None or category_labels is None:
        return proba
    return reconcile(proba, tree, category_proba, list(category_labels))


def listed(tree: TreeHead) -> np.ndarray:
    """The nodes a suggestion lists: every 二级 and 三级, and a 一级 only where it has no child."""
    has_child = np.zeros(len(tree.labels), bool)
    has_child[tree.parent_[tree.parent_ >= 0]] = True
    return np.flatnonzero((tree.level_ > 1) | ~has_child)


def _top_columns(values: np.ndarray, k: int | None) -> np.ndarray:
    """Per row, the columns of the ``k`` largest values, largest first, equal values by column: the first ``k``
    columns of ``np.argsort(-values, axis=1, kind="stable")``, without sorting whole rows."""
    n, m = values.shape
    if k is None or k >= m or not n:
        return np.argsort(-values, axis=1, kind="stable")[:, :k]
    if k <= 0:
        return np.zeros((n, 0), np.int64)
    kth = -np.partition(-values, k - 1, axis=1)[:, k - 1:k]  # each row's k-th largest value
    r, c = np.nonzero(values >= kth)  # at least k per row: the k largest and any equal to the k-th
    order = np.lexsort((c, -values[r, c], r))
    r, c = r[order], c[order]
    return c[np.searchsorted(r, np.arange(n))[:, None] + np.arange(k)]


def ranked(proba: np.ndarray, tree: TreeHead, k: int | None = 5) -> list[list[tuple[str, float]]]:
    """Per row, the ``k`` best listed nodes as ``(path, score)``, best first (equal scores: parent first)."""
    nodes = listed(tree)
    sub = proba[:, nodes]
    order = _top_columns(sub, k)
    names = np.asarray(tree.labels, dtype=object)[nodes][order].tolist()
    scores = np.take_along_axis(sub, order, axis=1).tolist()
    return [list(zip(n, v, strict=True)) for n, v in zip(names, scores, strict=True)]


def all_nodes(proba: np.ndarray, tree: TreeHead) -> list[list[tuple[str, float]]]:
    """Per row, every node (all levels) with its probability, best first: the head's whole prediction."""
    names = tree.labels
    order = np.argsort(-proba, axis=1, kind="stable")
    return [[(names[j], float(proba[i, j])) for j in row] for i, row in enumerate(order)]


def decided_nodes(proba: np.ndarray, tree: TreeHead, threshold: float) -> np.ndarray:
    """(n, 一级): under each 一级 (``tree.top_nodes`` order), the most specific node whose probability reaches
    ``threshold`` (the most probable one at that depth, the first on equal probabilities), else the 一级."""
    top = tree.top_nodes
    best = np.repeat(top[None, :], proba.shape[0], axis=0)
    r, j = np.nonzero(proba >= threshold)  # the few nodes that reach it
    if len(r):
        root = tree.root_[j]
        order = np.lexsort((j, -proba[r, j], -tree.level_[j].astype(np.int64), root, r))
        r, j, root = r[order], j[order], root[order]
        first = np.ones(len(r), bool)  # the first of each (row, 一级): deepest, then most probable, then first
        first[1:] = (r[1:] != r[:-1]) | (root[1:] != root[:-1])
        best[r[first], np.searchsorted(top, root[first])] = j[first]
    return best


def decided_columns(proba: np.ndarray, tree: TreeHead, threshold: float
                    ) -> tuple[list[list[str]], list[list[float]], list[list[float]]]:
    """:func:`decided_keys` as three lists per row: the keys' paths, their probabilities and their 一级's."""
    mass = proba[:, tree.top_nodes]
    order = np.argsort(-mass, axis=1, kind="stable")  # the most probable 一级 first
    best = np.take_along_axis(decided_nodes(proba, tree, threshold), order, axis=1)
    mass = np.take_along_axis(mass, order, axis=1)
    paths = np.asarray(tree.labels, dtype=object)[best].tolist()
    scores = np.take_along_axis(proba, best, axis=1).tolist()
    masses = mass.tolist()
    n_keys = np.count_nonzero(mass > 0, axis=1)  # a 一级 with probability 0 has no key: they sort last
    for i in np.flatnonzero(n_keys < mass.shape[1]).tolist():
        k = int(n_keys[i])
        paths[i], scores[i], masses[i] = paths[i][:k], scores[i][:k], masses[i][:k]
    return paths, scores, masses


def decided_keys(proba: np.ndarray, tree: TreeHead, threshold: float) -> list[list[DecidedKey]]:
    """Per row and per 一级 (best first, those with probability > 0): the most specific node under it
    whose probability reaches ``threshold`` (the most probable one at that depth), else the 一级."""
    return [[DecidedKey(*k) for k in zip(*row, strict=True)]
            for row in zip(*decided_columns(proba, tree, threshold), strict=True)]


RULE = ("P(一级) = m · P_category(一级) for the 一级 the category head knows, m = the tree head's probability of "
        "those 一级 together; the tree head's P(一级) for the others; P(path) = P(一级) · P(二级|一级) · P(三级|二级)")
