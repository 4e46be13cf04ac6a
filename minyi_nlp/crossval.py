"""K-fold cross-validation on raw-text folds: the same estimator and split rules as training."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from minyi_nlp.metrics import classification_report
from minyi_nlp.params import Params

if TYPE_CHECKING:
    from minyi_nlp.classifier import AppealClassifier


def fit_outside_fold(
    appeals: pd.DataFrame, params: Params, fold: int, copies: pd.DataFrame | None = None
) -> tuple[AppealClassifier, float]:
    """The params.yaml classifier fitted on every appeal outside ``fold``, and its fit time in seconds.

    Training rows are ``copies`` (every copy of each appeal, grouped by appeal) when
    ``params.prepare.train_copies`` is ``all`` and they are given, else one row per appeal.
    """
    from minyi_nlp.train import build_classifier, training_groups

    pool = copies if params.prepare.train_copies == "all" and copies is not None else appeals
    train = pool[pool["fold"] != fold]
    clf = build_classifier(params.train)
    t0 = time.perf_counter()
    clf.fit(train["text"].astype(str).tolist(), train["label"].astype(str).tolist(), groups=training_groups(train))
    return clf, time.perf_counter() - t0


def cross_validate(
    appeals: pd.DataFrame, params: Params, folds: list[int] | None = None, copies: pd.DataFrame | None = None
) -> dict:
    """Train outside fold k (:func:`fit_outside_fold`), evaluate on fold k's raw texts; mean ± std over folds."""
    folds = folds if folds is not None else list(range(params.prepare.n_folds))
    per_fold = []
    for k in folds:
        test = appeals["fold"] == k
        clf, seconds = fit_outside_fold(appeals, params, k, copies)
        rep = classification_report(
            appeals.loc[test, "label"].astype(str).tolist(),
            clf.predict_proba(appeals.loc[test, "text"].astype(str).tolist()),
            [str(c) for c in clf.classes_],
            params.evaluate.n_bins,
        )
        per_fold.append({"fold": k, "n": rep["n"], "macro_f1": rep["macro_f1"], "accuracy": rep["accuracy"],
                         "top2_accuracy": rep["top2_accuracy"], "ece": rep["ece"], "train_seconds": seconds})
    summary = {}
    for key in ("macro_f1", "accuracy", "top2_accuracy", "ece", "train_seconds"):
        vals = np.array([f[key] for f in per_fold])
        summary[key] = {"mean": float(vals.mean()), "std": float(vals.std())}
    return {"folds": per_fold, "summary": summary,
            "params": {**params.train.model_dump(), "train_copies": params.prepare.train_copies}}
