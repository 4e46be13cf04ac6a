"""K-fold cross-validation on raw-text folds: the same estimator and split rules as training."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from minyi_nlp.models.metrics import classification_report
from minyi_nlp.params import Params

if TYPE_CHECKING:
    from minyi_nlp.models.text_classifier import TextClassifier


def fit_outside_fold(
    appeals: pd.DataFrame,
    params: Params,
    fold: int,
    copies: pd.DataFrame | None = None,
    extra: pd.DataFrame | None = None,
    encoder_texts: Sequence[str] = (),
) -> tuple[TextClassifier, float]:
    """The category head (and its encoder) fitted on every appeal outside ``fold``, and the fit time in s.

    Training rows are ``copies`` (every copy of each appeal, grouped by appeal) when
    ``params.prepare.train_copies`` is ``all`` and they are given, else one row per appeal; ``extra``
    rows (``text``, ``label``: e.g. pseudo-labelled texts) are added, each its own group. The encoder also
    reads ``encoder_texts`` (the other heads' training texts, as ``minyi train`` does).
    """
    from minyi_nlp.data.tasks import category_rows
    from minyi_nlp.models.text_classifier import TextClassifier

    rows = category_rows(appeals, copies, fold, params.prepare.train_copies)
    train = rows[rows["split"] == "train"]
    if extra is not None and len(extra):
        more = extra[["text", "label"]].assign(group=[f"x{i}" for i in range(len(extra))])
        train = pd.concat([train, more], ignore_index=True)
    clf = TextClassifier(params.encoder, params.heads["category"].model)
    t0 = time.perf_counter()
    clf.fit(train["text"].astype(str).tolist(), train["label"].astype(str).tolist(),
            groups=train["group"].astype(str).tolist(), encoder_texts=encoder_texts)
    return clf, time.perf_counter() - t0


def score_fold(clf, test: pd.DataFrame, fold: int, seconds: float, n_bins: int) -> dict:
    """One fold's line of a cross-validation report: ``clf`` scored on the raw texts of ``test``."""
    rep = classification_report(
        test["label"].astype(str).tolist(),
        clf.predict_proba(test["text"].astype(str).tolist()),
        [str(c) for c in clf.classes_],
        n_bins,
    )
    return {"fold": fold, "n": rep["n"], "macro_f1": rep["macro_f1"], "accuracy": rep["accuracy"],
            "top2_accuracy": rep["top2_accuracy"], "ece": rep["ece"], "train_seconds": seconds}


def summarize(per_fold: list[dict]) -> dict:
    """Mean and standard deviation over folds of each score in :func:`score_fold`'s lines."""
    summary = {}
    for key in ("macro_f1", "accuracy", "top2_accuracy", "ece", "train_seconds"):
        vals = np.array([f[key] for f in per_fold])
        summary[key] = {"mean": float(vals.mean()), "std": float(vals.std())}
    return summary


def cv_report(per_fold: list[dict], params: Params, **extra_params: object) -> dict:
    """A cross-validation report: per-fold lines, their summary and the parameters (plus ``extra_params``)."""
    return {"folds": per_fold, "summary": summarize(per_fold),
            "params": {**params.encoder.model_dump(), **params.heads["category"].model.model_dump(),
                       "train_copies": params.prepare.train_copies, **extra_params}}


def cross_validate(
    appeals: pd.DataFrame,
    params: Params,
    folds: list[int] | None = None,
    copies: pd.DataFrame | None = None,
    encoder_texts: Sequence[str] = (),
) -> dict:
    """Train outside fold k (:func:`fit_outside_fold`), evaluate on fold k's raw texts; mean ± std over folds."""
    folds = folds if folds is not None else list(range(params.prepare.n_folds))
    per_fold = []
    for k in folds:
        clf, seconds = fit_outside_fold(appeals, params, k, copies, encoder_texts=encoder_texts)
        per_fold.append(score_fold(clf, appeals[appeals["fold"] == k], k, seconds, params.evaluate.n_bins))
    return cv_report(per_fold, params)
