"""A hierarchical head: labels are paths (``一级/二级/三级``), and a child's probability never exceeds its parent's.

The head is a tree of small calibrated linear models on the shared encoder's vector ("a local classifier
per parent node"): one model over the top-level nodes, and for every node with children seen in training
one model over those children, fitted on the rows under it. So::

    P(一级/二级/三级) = P(一级) · P(二级 | 一级) · P(三级 | 一级/二级)

A parent with one child seen in training passes its whole probability on to it. Each model is the
head's ``linear`` estimator (a linear SVM by default) on the columns its rows use (within the head's
encoder blocks), its weights pruned to the ``max_weights`` largest per class, its scores softmaxed at one
temperature per level, fitted on out-of-fold scores of (equally pruned) fold models.

What is kept are plain arrays: the weights of every node in one sparse matrix (encoder features ×
nodes, CSR), so prediction is one sparse product, a softmax within each model's block of columns and one
multiplication per level.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from minyi_nlp.models.arrays import HEAD_FILE, load_array, save_head
from minyi_nlp.params import HeadParams

log = logging.getLogger(__name__)

KIND = "tree"
SEP = "/"


def _prune(W: np.ndarray, keep: int | None) -> np.ndarray:
    """``W`` (features × classes) with all but the ``keep`` largest |weights| of each class set to 0."""
    if keep is None or W.shape[0] <= keep:
        return W
    top = np.argpartition(np.abs(W), -keep, axis=0)[-keep:]
    out = np.zeros_like(W)
    cols = np.arange(W.shape[1])
    out[top, cols] = W[top, cols]
    return out


def _scores(model: object, X: sp.csr_matrix, keep: int | None) -> np.ndarray:
    """Scores of a fitted fold model with its weights pruned as the final model's are."""
    W, b = _weights(model)
    return np.asarray(X @ _prune(W, keep)) + b


def _weights(model: object) -> tuple[np.ndarray, np.ndarray]:
    """(features × classes, classes) of a fitted linear model; a binary model as two opposite columns."""
    coef = np.atleast_2d(model.coef_).T  # type: ignore[attr-defined]
    icpt = np.atleast_1d(model.intercept_)  # type: ignore[attr-defined]
    if coef.shape[1] == 1:
        return np.column_stack([-coef[:, 0] / 2, coef[:, 0] / 2]), np.array([-icpt[0] / 2, icpt[0] / 2])
    return coef, icpt


def _fit_one(model: object, X: sp.csr_matrix, y: np.ndarray) -> object:
    return model.fit(X, y)  # type: ignore[attr-defined]


def _dense_product(X: sp.csr_matrix, W: sp.csr_matrix) -> np.ndarray:
    """``(X @ W).toarray()`` as float64. For float32 CSR operands, scipy's own kernel (the same float32 sums in
    the same order) without the pass that counts the product's nonzeros first: there are at most rows × columns."""
    n, k = X.shape[0], W.shape[1]
    try:
        from scipy.sparse._sparsetools import csr_matmat
    except ImportError:  # pragma: no cover - a scipy that moved its kernels: the public product
        csr_matmat = None
    if csr_matmat is None or X.dtype != np.float32 or W.dtype != np.float32 or not n or not k:
        return (X @ W).toarray().astype(np.float64)
    big = max(n * k, X.shape[1], W.shape[0], X.nnz, W.nnz) > np.iinfo(np.int32).max
    idx = np.int64 if big else np.int32
    indptr = np.empty(n + 1, idx)
    indices = np.empty(n * k, idx)
    data = np.empty(n * k, np.float32)
    csr_matmat(n, k, X.indptr.astype(idx, copy=False), X.indices.astype(idx, copy=False), X.data,
               W.indptr.astype(idx, copy=False), W.indices.astype(idx, copy=False), W.data, indptr, indices, data)
    nnz = int(indptr[-1])
    out = np.zeros((n, k))
    out[np.repeat(np.arange(n), np.diff(indptr)), indices[:nnz]] = data[:nnz]
    return out


@dataclass(frozen=True)
class _Plan:
    """One parent node's model before fitting (see :meth:`TreeHead._plan`)."""

    local: sp.csr_matrix
    y: np.ndarray
    cols: np.ndarray
    n_features: int
    splits: list[tuple[np.ndarray, np.ndarray]]


def _fit_level_temperature(blocks: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """The temperature minimising the NLL of the softmax within every block of out-of-fold scores."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    n = sum(len(y) for _, y in blocks)

    def nll(log_t: float) -> float:
        t = math.exp(log_t)
        return float(-sum(log_softmax(s / t, axis=1)[np.arange(len(y)), y].sum() for s, y in blocks) / n)

    return float(math.exp(minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded").x))


class TreeHead:
    """Calibrated linear models per parent node over label paths (see the module docstring)."""

    kind = KIND
    method_ = "temperature"

    def __init__(self, params: HeadParams | None = None) -> None:
        self.params = params or HeadParams(calibration="temperature")
        if self.params.calibration != "temperature":
            raise ValueError(f"a tree head is calibrated by temperature, got calibration={self.params.calibration!r}")

    # -- fit --------------------------------------------------------------------------------------------
    def fit(self, X: sp.csr_matrix, y: Sequence[str], groups: Sequence | None = None,
            columns: np.ndarray | None = None) -> TreeHead:
        """Fit on encoder vectors ``X`` and label paths ``y`` (``groups``: copies of one appeal stay on one
        side of every calibration split; ``columns``: boolean mask of the features the head may read)."""
        paths = [tuple(p for p in str(v).split(SEP) if p) for v in y]
        if X.shape[0] != len(paths):
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(paths)} labels")
        if any(not p for p in paths):
            raise ValueError("every label must be a non-empty path")
        if len({p[0] for p in paths}) < 2:
            raise ValueError("need at least two distinct top-level labels to train a tree head")
        X = sp.csr_matrix(X)
        allowed = np.ones(X.shape[1], bool) if columns is None else np.asarray(columns, bool)
        group_arr = None if groups is None else np.asarray(groups)
        depth = max(len(p) for p in paths)
        nodes: list[str] = []
        parent: list[int] = []
        level: list[int] = []
        starts: list[int] = []
        temps: list[float] = []
        blocks: list[sp.csr_matrix] = []
        bias: list[np.ndarray] = []
        index: dict[str, int] = {}
        for k in range(1, depth + 1):
            rows = np.flatnonzero([len(p) >= k for p in paths])
            parents = sorted({SEP.join(paths[i][: k - 1]) for i in rows})
            oof: list[tuple[np.ndarray, np.ndarray]] = []
            plans: list[_Plan | None] = []
            for par in parents:
                mine = rows[[SEP.join(paths[i][: k - 1]) == par for i in rows]]
                labels = np.asarray([SEP.join(paths[i][:k]) for i in mine], dtype=object)
                classes, yi = np.unique(labels.astype(str), return_inverse=True)
                starts.append(len(nodes))
                for c in classes:
                    index[str(c)] = len(nodes)
                    nodes.append(str(c))
                    parent.append(index[par] if k > 1 else -1)
                    level.append(k)
                plans.append(None if len(classes) == 1 else
                             self._plan(X[mine], yi, None if group_arr is None else group_arr[mine], allowed))
            fitted = self._fit_plans([p for p in plans if p is not None])
            n_models = len(fitted)
            for plan in plans:
                if plan is None:
                    blocks.append(sp.csr_matrix((X.shape[1], 1), dtype=np.float32))
                    bias.append(np.zeros(1))
                    continue
                W, b, scores = fitted.pop(0)
                blocks.append(W)
                bias.append(b)
                if scores is not None:
                    oof.append((scores, plan.y))
            temperature = _fit_level_temperature(oof) if oof else 1.0
            temps += [temperature] * (len(starts) - len(temps))
            log.info("tree head level %d: %d nodes under %d parents, %d models, temperature %.3f", k,
                     sum(lv == k for lv in level), len(parents), n_models, temperature)
        self.classes_ = np.asarray(nodes, dtype=object)
        self.n_features_ = int(X.shape[1])
        W = sp.hstack(blocks, format="csr", dtype=np.float32)
        W.eliminate_zeros()
        self.W_ = W
        self.b_ = np.concatenate(bias).astype(np.float32)
        self.parent_ = np.asarray(parent, np.int32)
        self.level_ = np.asarray(level, np.int8)
        self.starts_ = np.asarray(starts + [len(nodes)], np.int32)
        self.temperature_ = np.asarray(temps, np.float64)
        return self

    def _plan(self, X: sp.csr_matrix, y: np.ndarray, groups: np.ndarray | None, allowed: np.ndarray) -> _Plan:
        """One parent's model, to be fitted: its rows restricted to the features they use and are allowed to
        read, and its out-of-fold splits (none when a class is too rare or missing from a fold)."""
        from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

        cols = np.unique(X.indices)
        cols = cols[allowed[cols]]
        if len(cols):
            local = X[:, cols]
        else:  # rows with no readable feature: the intercepts alone
            cols, local = np.zeros(1, np.int64), sp.csr_matrix((X.shape[0], 1), dtype=np.float32)
        folds = int(min(self.params.calibration_cv, np.bincount(y).min()))
        splits: list[tuple[np.ndarray, np.ndarray]] = []
        if folds >= 2:
            if groups is not None and len(np.unique(groups)) >= folds:
                split = StratifiedGroupKFold(folds, shuffle=True, random_state=self.params.random_state).split(
                    local, y, groups)
            else:
                split = StratifiedKFold(folds, shuffle=True, random_state=self.params.random_state).split(local, y)
            splits = list(split)
            if any(len(np.unique(y[tr])) < int(y.max()) + 1 for tr, _ in splits):  # a class missing from a fold
                splits = []
        return _Plan(local, y, cols, int(X.shape[1]), splits)

    def _fit_plans(self, plans: Sequence[_Plan]) -> list[tuple[sp.csr_matrix, np.ndarray, np.ndarray | None]]:
        """Every plan's (pruned weights over every encoder column, bias, out-of-fold scores or None): all fold
        and final fits of a level at once, on ``params.n_jobs`` processes (the same fits as one by one)."""
        from joblib import Parallel, delayed
        from sklearn.base import clone

        from minyi_nlp.models.heads import _estimator

        est = _estimator(self.params)
        jobs = [(i, None, p.local, p.y) for i, p in enumerate(plans)]
        jobs += [(i, va, p.local[tr], p.y[tr]) for i, p in enumerate(plans) for tr, va in p.splits]
        done = Parallel(n_jobs=self.params.n_jobs)(delayed(_fit_one)(clone(est), X, y) for _, _, X, y in jobs)
        keep = self.params.max_weights
        oof = [np.zeros((len(p.y), int(p.y.max()) + 1)) if p.splits else None for p in plans]
        final: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0), np.zeros(0))] * len(plans)
        for (i, va, _, _), model in zip(jobs, done, strict=True):
            if va is None:
                final[i] = _weights(model)
            else:
                oof[i][va] = _scores(model, plans[i].local[va], keep)  # type: ignore[index]
        out = []
        for p, (W, b), scores in zip(plans, final, oof, strict=True):
            W = _prune(W, keep)
            r, c = np.nonzero(W)
            Wc = sp.csr_matrix((W[r, c].astype(np.float32), (p.cols[r], c)), shape=(p.n_features, W.shape[1]))
            out.append((Wc, b, scores))
        return out

    # -- predict ----------------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """The node paths (a copy of a list made once per ``classes_``: the many readers of one appeal's
        sub-categories ask for it several times, and 442 ``str`` calls each time cost ≈ 30 µs)."""
        held = self.__dict__.get("_labels")
        if held is None or held[0] is not self.classes_:
            held = self.__dict__["_labels"] = (self.classes_, [str(c) for c in self.classes_])
        return list(held[1])

    @cached_property
    def _sizes(self) -> np.ndarray:
        return np.diff(self.starts_)

    @cached_property
    def _levels(self) -> list[np.ndarray]:
        return [np.flatnonzero(self.level_ == k) for k in range(1, int(self.level_.max()) + 1)]

    @property
    def top_nodes(self) -> np.ndarray:
        """The top-level nodes (their indices, ascending)."""
        return self._levels[0]

    @cached_property
    def root_(self) -> np.ndarray:
        """Each node's top-level ancestor (a top-level node is its own)."""
        root = np.arange(len(self.classes_))
        for nodes in self._levels[1:]:
            root[nodes] = root[self.parent_[nodes]]
        return root

    def conditional(self, X: sp.csr_matrix) -> np.ndarray:
        """P(node | its parent) for every node (n, nodes): a softmax within each model's columns."""
        if X.shape[1] != self.n_features_:
            raise ValueError(f"X has {X.shape[1]} features, the head was fitted on {self.n_features_}")
        s = _dense_product(sp.csr_matrix(X), self.W_)
        s += self.b_
        starts = self.starts_[:-1]
        s /= np.repeat(self.temperature_, self._sizes)
        s -= np.repeat(np.maximum.reduceat(s, starts, axis=1), self._sizes, axis=1)
        np.exp(s, out=s)
        s /= np.repeat(np.add.reduceat(s, starts, axis=1), self._sizes, axis=1)
        return s

    def predict_proba(self, X: sp.csr_matrix, texts: Sequence[str] | None = None) -> np.ndarray:
        """P(path) for every node (n, nodes): each node's conditional times its parent's probability."""
        p = self.conditional(X)
        for nodes in self._levels[1:]:
            p[:, nodes] *= p[:, self.parent_[nodes]]
        return p

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, directory: Path) -> list[Path]:
        W = self.W_
        arrays = {"W_data": W.data.astype(np.float32), "W_indices": W.indices.astype(np.int32),
                  "W_indptr": W.indptr.astype(np.int64 if W.nnz >= 2**31 else np.int32), "b": self.b_,
                  "parent": self.parent_, "level": self.level_, "starts": self.starts_,
                  "temperature": self.temperature_}
        meta = {"kind": KIND, "params": self.params.model_dump(), "classes": self.labels,
                "n_features": self.n_features_}
        return save_head(directory, arrays, meta)

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> TreeHead:
        meta = json.loads((directory / HEAD_FILE).read_text(encoding="utf-8"))
        self = cls(HeadParams.model_validate(meta["params"]))
        self.classes_ = np.asarray(meta["classes"], dtype=object)
        self.n_features_ = int(meta["n_features"])

        def arr(name: str) -> np.ndarray:
            return load_array(directory / f"{name}.npy", mmap)

        self.W_ = sp.csr_matrix((arr("W_data"), arr("W_indices"), arr("W_indptr")),
                                shape=(self.n_features_, len(self.classes_)))
        self.b_, self.parent_, self.level_ = arr("b"), arr("parent"), arr("level")
        self.starts_, self.temperature_ = arr("starts"), arr("temperature")
        return self

    # -- what the bundle's manifest records ---------------------------------------------------------
    @property
    def n_folds_(self) -> int:
        return int(self.params.calibration_cv)

    @property
    def cols_(self) -> np.ndarray:
        """The encoder columns some node reads."""
        return np.flatnonzero(np.diff(self.W_.indptr))
