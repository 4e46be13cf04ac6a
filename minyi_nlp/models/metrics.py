"""Classification and calibration metrics shared by evaluation, training and cross-validation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Equal-width confidence bins with mean confidence, accuracy and count per bin."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        m = idx == b
        n = int(m.sum())
        bins.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": n,
                "confidence": float(confidence[m].mean()) if n else 0.0,
                "accuracy": float(correct[m].mean()) if n else 0.0,
            }
        )
    return bins


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """Top-label ECE: Σ_bins |accuracy − confidence| · share of samples."""
    n = len(confidence)
    if n == 0:
        return 0.0
    return float(
        sum(b["count"] / n * abs(b["accuracy"] - b["confidence"]) for b in reliability_bins(
            confidence, correct, n_bins))
    )


def classification_report(
    y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str], n_bins: int = 10
) -> dict:
    """Per-class P/R/F1, macro-F1, accuracy, top-2 accuracy, ECE, reliability bins, confusion matrix."""
    # scikit-learn only here: a serving process computes the monitor's calibration gauges with the functions
    # above, and would hold scikit-learn (≈ 50 MB) from its first /metrics scrape on
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    classes = list(classes)
    y = np.asarray(list(y_true), dtype=object)
    n = len(y)
    if n == 0:
        raise ValueError("no rows to evaluate")
    order = np.argsort(-proba, axis=1)
    pred = np.asarray(classes, dtype=object)[order[:, 0]]
    index = {c: i for i, c in enumerate(classes)}
    true_idx = np.array([index[v] for v in y])
    top2 = (order[:, :2] == true_idx[:, None]).any(axis=1)
    confidence = proba[np.arange(n), order[:, 0]]
    correct = pred == y
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=classes, zero_division=0)
    bins = reliability_bins(confidence, correct, n_bins)
    return {
        "n": int(n),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, labels=classes, average="macro", zero_division=0)),
        "top2_accuracy": float(top2.mean()),
        "ece": expected_calibration_error(confidence, correct, n_bins),
        "per_class": {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, c in enumerate(classes)
        },
        "labels": classes,
        "confusion_matrix": confusion_matrix(y, pred, labels=classes).tolist(),
        "reliability": bins,
    }
