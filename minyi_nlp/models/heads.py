"""One kind of head: a calibrated linear model on the shared encoder's vector.

Fitting uses scikit-learn (``LinearSVC`` / ``LogisticRegression`` inside ``CalibratedClassifierCV``, or
the project's temperature scaling); what is kept are plain arrays, so prediction is one sparse × dense
product and one vectorised calibration step for every head, with no scikit-learn object at run time and
nothing pickled:

* ``W`` (active features × rows) and ``b``: the linear scores of every calibration fold stacked side by
  side (``isotonic``/``sigmoid``: one model per fold, averaged after calibration, as scikit-learn does),
  or of the single model (``temperature``);
* ``cols``: the features the head's training rows use (a head trained on a few thousand appeals stores
  weights for those only);
* the calibration of each row (isotonic thresholds, sigmoid a/b, or one temperature).

With ``weights: int8`` the fitted ``W`` is stored quantised: each feature's row as int8 with its own scale
(``W ≈ W_q · scale[:, None]``, largest |weight| of the row ↦ 127). A serving process touches a quarter of the
pages; prediction gathers the rows a batch uses and dequantises only those. Fitting, saving and loading give the
same (quantised) head, so every consumer scores alike.

A head may carry keyword rules (label, regular expression on the normalised text) mixed in as
``(1 − α)·P_model + α·q`` where ``q`` is uniform over the labels whose rule fires.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from minyi_nlp.models.arrays import HEAD_FILE, load_array, save_head
from minyi_nlp.params import HeadParams
from minyi_nlp.text.rule_filter import RuleFilter


class KeywordRules(BaseModel):
    """Explicit wording that names a label (the citizen's own word), mixed in with weight ``weight``."""

    model_config = ConfigDict(extra="forbid")
    weight: float = Field(0.0, ge=0, le=1)
    rules: list[tuple[str, str]] = []

    @cached_property
    def compiled(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(label, re.compile(pattern)) for label, pattern in self.rules]

    @cached_property
    def _filter(self) -> RuleFilter:
        return RuleFilter([rx for _, rx in self.compiled])

    def fired(self, text: str) -> list[str]:
        """Labels whose rule matches ``text`` (normalised), in rule order (one Aho–Corasick pass picks the
        rules whose literal prefix occurs; only those are searched)."""
        return [self.compiled[i][0] for i in self._filter.search(text)]

    def apply(self, proba: np.ndarray, labels: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        """``(1 − weight)·proba + weight·q`` per row; rows where no rule fires are unchanged."""
        out = np.array(proba, dtype=np.float64, copy=True)
        if self.weight <= 0 or not self.rules:
            return out
        index = {lab: j for j, lab in enumerate(labels)}
        rows: list[int] = []
        q_rows: list[int] = []
        q_cols: list[int] = []
        q_vals: list[float] = []
        for i, text in enumerate(texts):
            fired = [index[t] for t in self.fired(text) if t in index]
            if fired:
                q_rows += [len(rows)] * len(fired)
                q_cols += fired
                q_vals += [1.0 / len(fired)] * len(fired)
                rows.append(i)
        if rows:
            q = np.zeros((len(rows), len(labels)))
            q[q_rows, q_cols] = q_vals  # a label a rule names twice counts once, as in ``q[fired] = …``
            out[rows] = (1 - self.weight) * out[rows] + self.weight * q
        return out


def _estimator(params: HeadParams) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if params.linear == "svm":
        return LinearSVC(C=params.C, class_weight=params.class_weight, random_state=params.random_state)
    return LogisticRegression(C=params.C, class_weight=params.class_weight, max_iter=2000)


def _calibrated(params: HeadParams, y: np.ndarray, groups: Sequence | None, folds: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedGroupKFold

    from minyi_nlp.models.calibration import TemperatureScaledClassifier

    if params.calibration == "temperature":
        return TemperatureScaledClassifier(_estimator(params), cv=folds, random_state=params.random_state)
    if params.calibration not in ("isotonic", "sigmoid"):
        raise ValueError(f"calibration must be 'isotonic', 'sigmoid' or 'temperature', got {params.calibration!r}")
    cv: int | list = folds
    if groups is not None:  # keep the copies of one appeal on one side of each calibration split
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=params.random_state)
        cv = list(splitter.split(np.zeros(len(y)), y, groups))
    return CalibratedClassifierCV(_estimator(params), method=params.calibration, cv=cv, n_jobs=params.n_jobs,
                                  ensemble=params.ensemble)


class SharedScores(Protocol):
    """Scores computed for several heads at once (:class:`minyi_nlp.models.fused.FusedHeads`)."""

    def scores(self, head: LinearHead, X: sp.csr_matrix) -> np.ndarray: ...


class LinearHead:
    """A calibrated linear classifier over encoder vectors (see the module docstring)."""

    def __init__(self, params: HeadParams | None = None, rules: KeywordRules | None = None) -> None:
        self.params = params or HeadParams()
        self.rules = rules or KeywordRules()
        #: set by :meth:`Bundle.fuse_linear_heads`: the scores then come from one product for every linear head
        self.fused: SharedScores | None = None

    # -- fit --------------------------------------------------------------------------------------------
    def fit(self, X: sp.csr_matrix, y: Sequence[str], groups: Sequence | None = None,
            columns: np.ndarray | None = None) -> LinearHead:
        """Fit on encoder vectors ``X`` and labels ``y`` (``groups``: rows sharing a group are copies of
        one appeal and stay on one side of every calibration split; ``columns``: a boolean mask of the
        features the head may read, default all). Calibration folds are capped by the rarest label's count."""
        y_arr = np.asarray([str(v) for v in y], dtype=object)
        if X.shape[0] != len(y_arr):
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(y_arr)} labels")
        labels, counts = np.unique(y_arr, return_counts=True)
        if len(labels) < 2:
            raise ValueError("need at least two distinct labels to train a head")
        folds = int(max(2, min(self.params.calibration_cv, counts.min())))
        X = sp.csr_matrix(X)
        cols = np.unique(X.indices).astype(np.int32)
        if columns is not None:
            cols = cols[np.asarray(columns, bool)[cols]]
        local = X[:, cols]
        model = _calibrated(self.params, y_arr.astype(str), groups, folds)
        if groups is not None and self.params.calibration == "temperature":
            model.fit(local, y_arr.astype(str), groups=np.asarray(groups))
        else:
            model.fit(local, y_arr.astype(str))
        self._extract(model, cols, X.shape[1])
        return self

    def _extract(self, model: Any, cols: np.ndarray, n_features: int) -> None:
        from minyi_nlp.models.calibration import TemperatureScaledClassifier

        self.fused = None  # new weights: a fused matrix of the old ones no longer holds them
        self.classes_ = np.asarray([str(c) for c in model.classes_], dtype=object)
        k = len(self.classes_)
        self.n_features_ = int(n_features)
        self.cols_ = cols
        weights, bias, target, fold_of = [], [], [], []
        cal_x, cal_y, cal_ab = [], [], []
        if isinstance(model, TemperatureScaledClassifier):
            self.method_, self.temperature_ = "temperature", float(model.temperature_)
            coef, icpt = np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_)
            weights.append(coef)
            bias.append(icpt)
            target += list(range(coef.shape[0]))
            fold_of += [0] * coef.shape[0]
        else:
            self.method_, self.temperature_ = model.method, 1.0
            for f, cc in enumerate(model.calibrated_classifiers_):
                est = cc.estimator
                coef, icpt = np.atleast_2d(est.coef_), np.atleast_1d(est.intercept_)
                idx = np.searchsorted(self.classes_.astype(str), np.asarray(est.classes_).astype(str))
                rows = [int(idx[1])] if k == 2 else [int(i) for i in idx]
                for j, cal in enumerate(cc.calibrators):
                    weights.append(coef[j : j + 1])
                    bias.append(icpt[j : j + 1])
                    target.append(rows[j])
                    fold_of.append(f)
                    if self.method_ == "isotonic":
                        xs = np.asarray(cal.X_thresholds_, np.float64)
                        ys = np.asarray(cal.y_thresholds_, np.float64)
                        cal_x.append(xs)
                        cal_y.append(ys)
                    else:
                        cal_ab.append((float(cal.a_), float(cal.b_)))
        self.W_ = np.ascontiguousarray(np.vstack(weights).T.astype(np.float32))
        self.W_scale_: np.ndarray | None = None
        if self.params.weights == "int8":
            self.W_, self.W_scale_ = quantize_rows(self.W_)
        self.b_ = np.concatenate(bias).astype(np.float32)
        self.target_ = np.asarray(target, np.int32)
        self.fold_ = np.asarray(fold_of, np.int32)
        self.n_folds_ = int(self.fold_.max()) + 1
        ptr = np.cumsum([0] + [len(x) for x in cal_x]).astype(np.int64)
        self.cal_x_ = np.concatenate(cal_x) if cal_x else np.zeros(0)
        self.cal_y_ = np.concatenate(cal_y) if cal_y else np.zeros(0)
        self.cal_ptr_ = ptr
        self.cal_ab_ = np.asarray(cal_ab, np.float64).reshape(-1, 2)

    # -- predict ----------------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classes_]

    @cached_property
    def _colmap(self) -> np.ndarray:
        """Encoder column → row of ``W`` (−1: a feature the head does not read)."""
        out = np.full(self.n_features_, -1, np.int32)
        out[np.asarray(self.cols_)] = np.arange(len(self.cols_), dtype=np.int32)
        return out

    def _local(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """``X`` restricted to (and re-indexed by) the head's active features."""
        if len(self.cols_) == self.n_features_:
            return X
        pos = self._colmap[X.indices]
        hit = pos >= 0
        kept = np.concatenate([[0], np.cumsum(hit)])
        return sp.csr_matrix((X.data[hit], pos[hit], kept[X.indptr]), shape=(X.shape[0], len(self.cols_)))

    def weight_rows(self, rows: np.ndarray, columns: np.ndarray | None = None, *,
                    keep: np.ndarray | None = None) -> np.ndarray:
        """Rows ``rows`` of ``W`` (only ``columns`` of them, if given) as float32, dequantised when the head
        stores int8 weights; with ``keep``, the rows where it is False are zeros."""
        W = np.take(self.W_, rows, axis=0)  # ≈ 3× faster than fancy indexing on a batch's rows
        if columns is not None:
            W = W[:, columns]
        scale = np.take(self.W_scale_, rows) if self.W_scale_ is not None else None
        if keep is not None:
            scale = np.where(keep, np.float32(1) if scale is None else scale, np.float32(0))
        if scale is None:
            return np.asarray(W, np.float32)
        out = np.empty(W.shape, np.float32)
        np.multiply(W, scale[:, None], out=out)  # converts, scales and zeroes in one pass
        return out

    def scores(self, X: sp.csr_matrix) -> np.ndarray:
        """Linear scores (n, rows): one column per (calibration fold, class).

        ``X`` is read through :func:`compacted` (the columns its rows use, shared by every head that scores
        the same matrix); the weight rows of the features this head does not read are zero, which adds
        exact zeros to each score, so the result is that of ``X[:, cols] @ W``."""
        if X.shape[1] != self.n_features_:
            raise ValueError(f"X has {X.shape[1]} features, the head was fitted on {self.n_features_}")
        if self.fused is not None:
            return self.fused.scores(self, X)
        used, local = compacted(X)
        rows = self._colmap[used]
        hit = rows >= 0
        if 3 * np.count_nonzero(hit) > 2 * len(hit):  # the head reads most columns: zero the others' rows
            W = self.weight_rows(np.where(hit, rows, 0), keep=hit)
            return np.asarray(local @ W, dtype=np.float64) + self.b_
        # it reads few: multiply only those columns (dropping terms that were exact zeros keeps every sum)
        read = np.flatnonzero(hit)
        return np.asarray(local[:, read] @ self.weight_rows(rows[read]), dtype=np.float64) + self.b_

    @cached_property
    def _isotonic_axis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """All isotonic calibrators on one axis: row r's thresholds shifted by ``r · span`` (so one
        ``np.interp`` calibrates every row), with each row's clip range."""
        ptr, xs = self.cal_ptr_, self.cal_x_
        lo, hi = xs[ptr[:-1]], xs[ptr[1:] - 1]
        span = float(hi.max() - lo.min()) + 1.0
        shift = np.arange(len(lo)) * span
        return np.repeat(shift, np.diff(ptr)) + xs, self.cal_y_, lo, hi, shift

    def _calibrate(self, s: np.ndarray) -> np.ndarray:
        n, k = s.shape[0], len(self.classes_)
        if self.method_ == "temperature":
            z = s if s.shape[1] == k else np.column_stack([-s[:, 0] / 2, s[:, 0] / 2])
            z = z / self.temperature_
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        if self.method_ == "isotonic":
            axis, ys, lo, hi, shift = self._isotonic_axis
            p = np.interp(np.clip(s, lo, hi) + shift, axis, ys)
        else:
            a, b = self.cal_ab_[:, 0], self.cal_ab_[:, 1]
            p = 1.0 / (1.0 + np.exp(a * s + b))
        proba = np.zeros((n, self.n_folds_, k))
        proba[:, self.fold_, self.target_] = p
        if k == 2:
            proba[:, :, 0] = 1.0 - proba[:, :, 1]
        else:
            total = proba.sum(axis=2, keepdims=True)
            proba = np.divide(proba, total, out=np.full_like(proba, 1.0 / k), where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba.mean(axis=1)

    def predict_proba(self, X: sp.csr_matrix, texts: Sequence[str] | None = None) -> np.ndarray:
        """Calibrated probabilities (n, classes); with ``texts`` (normalised), keyword rules are mixed in."""
        proba = self._calibrate(self.scores(X))
        if texts is not None and self.rules.weight > 0:
            proba = self.rules.apply(proba, self.labels, texts)
        return proba

    def contributions(self, x: sp.csr_matrix, label: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature columns, value × weight) of one row towards ``label``, the weight averaged over folds."""
        cols, contrib, _ = self.contributions_many(sp.csr_matrix(x), [label])
        return cols, contrib

    def contributions_many(self, X: sp.csr_matrix, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray,
                                                                                   np.ndarray]:
        """For every row i of ``X``: (feature columns, value × weight towards ``labels[i]``) as flat arrays,
        with ``indptr`` delimiting the rows (the weight of a label is averaged over calibration folds)."""
        binary = len(self.classes_) == 2
        index = {lab: j for j, lab in enumerate(self.labels)}
        wanted = np.asarray([index[str(lab)] for lab in labels], np.int64)
        local = self._local(sp.csr_matrix(X))
        row_of = np.repeat(np.arange(local.shape[0]), np.diff(local.indptr))
        contrib = np.zeros(local.nnz, np.float64)
        for j in np.unique(wanted):
            rows = np.flatnonzero(self.target_ == (1 if binary else j))
            sel = np.flatnonzero(wanted[row_of] == j)
            w = np.asarray(self.weight_rows(local.indices[sel], rows), np.float64).mean(axis=1)
            contrib[sel] = local.data[sel] * w * (-1.0 if binary and j == 0 else 1.0)
        return np.asarray(self.cols_)[local.indices], contrib, local.indptr

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, directory: Path) -> list[Path]:
        arrays = {"W": self.W_, "b": self.b_, "cols": self.cols_, "target": self.target_, "fold": self.fold_,
                  "cal_x": self.cal_x_, "cal_y": self.cal_y_, "cal_ptr": self.cal_ptr_, "cal_ab": self.cal_ab_}
        if self.W_scale_ is not None:
            arrays["W_scale"] = self.W_scale_
        meta = {"params": self.params.model_dump(), "rules": self.rules.model_dump(), "classes": self.labels,
                "method": self.method_, "temperature": self.temperature_, "n_features": self.n_features_,
                "n_folds": self.n_folds_}
        return save_head(directory, arrays, meta)

    @classmethod
    def load(cls, directory: Path, *, mmap: bool = True) -> LinearHead:
        meta = json.loads((directory / HEAD_FILE).read_text(encoding="utf-8"))
        self = cls(HeadParams.model_validate(meta["params"]), KeywordRules.model_validate(meta["rules"]))
        self.classes_ = np.asarray(meta["classes"], dtype=object)
        self.method_, self.temperature_ = meta["method"], float(meta["temperature"])
        self.n_features_, self.n_folds_ = int(meta["n_features"]), int(meta["n_folds"])

        def arr(name: str, big: bool = False) -> np.ndarray:
            return load_array(directory / f"{name}.npy", mmap and big)

        self.W_, self.cols_ = arr("W", big=True), arr("cols")
        self.W_scale_ = arr("W_scale") if self.W_.dtype == np.int8 else None
        self.b_, self.target_, self.fold_ = arr("b"), arr("target"), arr("fold")
        self.cal_x_, self.cal_y_ = arr("cal_x"), arr("cal_y")
        self.cal_ptr_, self.cal_ab_ = arr("cal_ptr"), arr("cal_ab")
        return self


def quantize_rows(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``W`` (float) as int8 rows and a float32 scale per row, the row's largest |weight| mapped to 127."""
    W = np.asarray(W, np.float32)
    scale = np.abs(W).max(axis=1) / 127.0 if W.shape[1] else np.zeros(W.shape[0], np.float32)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(W / scale[:, None]), -127, 127).astype(np.int8)
    return np.ascontiguousarray(q), scale


def _used_rows(indices: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``indices`` (sorted) and each entry's position among them. A sort for small
    batches; a mask over all ``n`` rows when the batch touches many (cheaper than sorting them)."""
    if len(indices) < max(4096, n // 16):
        used, inverse = np.unique(indices, return_inverse=True)
        return used, inverse.astype(np.int32, copy=False)
    mask = np.zeros(n, bool)
    mask[indices] = True
    used = np.flatnonzero(mask)
    position = np.cumsum(mask, dtype=np.int32) - 1
    return used, position[indices]


class PerMatrix:
    """Per thread, what ``compute`` gave for the last ``keep`` matrices, found by identity (held through weak
    references, so a matrix that is gone is never matched): the heads that score one batch compute it once."""

    def __init__(self, compute: Callable[[Any], Any], keep: int = 1) -> None:
        self.compute, self.keep = compute, keep
        self._held = threading.local()

    def __call__(self, X: Any) -> Any:
        held: list[tuple[weakref.ref, Any]] = getattr(self._held, "items", None) or []
        for ref, value in held:
            if ref() is X:
                return value
        value = self.compute(X)
        with contextlib.suppress(TypeError):  # no weak reference to this matrix: nothing kept
            self._held.items = [(weakref.ref(X), value), *held[: self.keep - 1]]
        return value


def _compact(X: sp.csr_matrix) -> tuple[np.ndarray, sp.csc_matrix]:
    X = X if sp.isspmatrix_csr(X) else sp.csr_matrix(X)
    used, inverse = _used_rows(X.indices, X.shape[1])
    # Column-major: the product then reads each weight row once for all the rows that use it (in row-major
    # order it fetches weight rows at random, ≈ 4× slower on a batch), and sums each score in the same order.
    return used, sp.csr_matrix((X.data, inverse, X.indptr), shape=(X.shape[0], len(used))).tocsc()


#: (the columns ``X`` uses, sorted; ``X`` re-indexed to them, column-major): what the heads multiply. The last
#: matrix's answer is kept per thread, so the heads that score one batch compact it once.
compacted = PerMatrix(_compact)
