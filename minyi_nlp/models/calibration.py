"""Temperature scaling: one scalar that turns a linear model's scores into calibrated probabilities.

Isotonic calibration averages one model per calibration fold, which changes the argmax and costs
five models at prediction time. Temperature scaling keeps the single model trained on all the data
(same argmax, same accuracy) and fits ``T`` on out-of-fold scores, so probabilities follow how often
the model is right on appeals it has not seen (Guo et al., 2017).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T > 0 minimising the NLL of ``softmax(logits / T)`` (``y``: class indices)."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-log_softmax(logits / math.exp(log_t), axis=1)[rows, y].mean())

    res = minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded")
    return float(math.exp(res.x))


def softmax_scores(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax of ``scores / temperature``."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class TemperatureScaledClassifier(ClassifierMixin, BaseEstimator):
    """A linear model fitted on all rows whose scores are softmaxed at a temperature fitted out of fold.

    ``fit(X, y, groups=None)``: with ``groups`` (copies of one appeal share a group), the out-of-fold
    split never puts two copies of an appeal on both sides, which would make ``T`` overconfident.
    """

    def __init__(self, estimator: BaseEstimator, *, cv: int = 5, random_state: int = 0) -> None:
        self.estimator = estimator
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y, groups=None) -> TemperatureScaledClassifier:
        y_arr = np.asarray(y)
        self.classes_, y_idx = np.unique(y_arr, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("need at least two distinct labels to train")
        # each class needs a row in every fold; fewer folds for tiny classes
        n_splits = int(min(self.cv, np.bincount(y_idx).min()))
        oof = np.zeros((X.shape[0], len(self.classes_)))
        if n_splits >= 2:
            if groups is None:
                splitter = StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
            else:
                splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=self.random_state)
            for tr, va in splitter.split(X, y_idx, groups):
                oof[va] = self._scores(clone(self.estimator).fit(X[tr], y_idx[tr]), X[va], len(self.classes_))
            self.temperature_ = fit_temperature(oof, y_idx)
        else:
            self.temperature_ = 1.0
        self.estimator_ = clone(self.estimator).fit(X, y_idx)
        self.coef_ = np.atleast_2d(self.estimator_.coef_)
        self.intercept_ = np.atleast_1d(self.estimator_.intercept_)
        return self

    @staticmethod
    def _scores(model, X, n_classes: int) -> np.ndarray:
        s = np.asarray(model.decision_function(X))
        if s.ndim == 1:  # binary: one column of scores for the second class
            s = np.column_stack([-s / 2, s / 2])
        if s.shape[1] != n_classes:  # a fold lacked a class: place scores by the model's classes
            full = np.full((s.shape[0], n_classes), s.min() - 10.0)
            full[:, model.classes_] = s
            s = full
        return s

    def decision_function(self, X) -> np.ndarray:
        return self._scores(self.estimator_, X, len(self.classes_))

    def predict_proba(self, X) -> np.ndarray:
        return softmax_scores(self.decision_function(X), self.temperature_)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]
