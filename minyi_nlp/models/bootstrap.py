"""Paired bootstrap of metric differences: two models scored on the same rows.

Each replicate draws the rows once (with replacement) and scores *both* models on that draw, so the
interval of the difference reflects only how the models differ on the rows, not how hard the rows are.
Metrics are computed with NumPy (thousands of replicates in well under a second on a few thousand rows):

* classification rows: true label, predicted label and top-label confidence of each model → macro-F1
  (over the labels present in the data), accuracy, top-label ECE (equal-width bins, as
  :func:`minyi_nlp.models.metrics.expected_calibration_error`);
* ranking rows: the rank of the true label in each model's ranking (``inf`` when absent) → top-1, top-3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Metric = Callable[[np.ndarray], float]  # row indices of one replicate → the metric on those rows


@dataclass(frozen=True)
class Classified:
    """One model's predictions on labelled rows, as label indices (``labels`` maps them back)."""

    y: np.ndarray  # true label index per row
    pred: np.ndarray  # predicted label index per row
    confidence: np.ndarray  # top-label probability per row
    n_labels: int

    @classmethod
    def from_proba(cls, y_true: Sequence[str], proba: np.ndarray, classes: Sequence[str],
                   labels: Sequence[str]) -> Classified:
        """``proba`` columns in ``classes`` order; ``labels`` is the shared label index (a superset)."""
        index = {lab: i for i, lab in enumerate(labels)}
        top = np.asarray(proba).argmax(axis=1)
        return cls(np.array([index[str(v)] for v in y_true], dtype=np.int64),
                   np.array([index[str(classes[j])] for j in top], dtype=np.int64),
                   np.asarray(proba).max(axis=1).astype(float), len(labels))


def macro_f1(y: np.ndarray, pred: np.ndarray, n_labels: int, present: np.ndarray) -> float:
    """Macro-F1 over the labels in ``present`` (boolean mask): 2·TP / (2·TP + FP + FN) per label."""
    tp = np.bincount(y[y == pred], minlength=n_labels)
    true = np.bincount(y, minlength=n_labels)
    predicted = np.bincount(pred, minlength=n_labels)
    denom = true + predicted
    f1 = np.divide(2.0 * tp, denom, out=np.zeros(n_labels), where=denom > 0)
    return float(f1[present].mean()) if present.any() else 0.0


def ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10) -> float:
    """Top-label expected calibration error with equal-width bins."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    conf = np.bincount(idx, weights=confidence, minlength=n_bins)
    acc = np.bincount(idx, weights=correct.astype(float), minlength=n_bins)
    return float(np.abs(acc - conf).sum() / len(confidence))


def classification_metrics(c: Classified, present: np.ndarray, n_bins: int = 10) -> dict[str, Metric]:
    """macro_f1, accuracy and ece of ``c`` as functions of a replicate's row indices."""
    correct = c.y == c.pred
    return {
        "macro_f1": lambda i: macro_f1(c.y[i], c.pred[i], c.n_labels, present),
        "accuracy": lambda i: float(correct[i].mean()),
        "ece": lambda i: ece(c.confidence[i], correct[i], n_bins),
    }


def ranking_metrics(ranks: np.ndarray) -> dict[str, Metric]:
    """top1 and top3 of the ranks of the true labels (1-based, ``inf`` when not ranked)."""
    return {"top1": lambda i: float((ranks[i] <= 1).mean()), "top3": lambda i: float((ranks[i] <= 3).mean())}


def paired(candidate: Metric, champion: Metric, n: int, *, replicates: int = 2000, seed: int = 0,
           higher_is_better: bool = True) -> dict[str, Any]:
    """The metric of both models on all ``n`` rows, the difference (candidate − champion) and its paired
    bootstrap 95 % percentile interval."""
    everything = np.arange(n)
    a, b = candidate(everything), champion(everything)
    rng = np.random.default_rng(seed)
    diffs = np.empty(replicates)
    for r in range(replicates):
        i = rng.integers(0, n, n)
        diffs[r] = candidate(i) - champion(i)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {"candidate": round(a, 4), "champion": round(b, 4), "delta": round(a - b, 4),
            "ci95": [round(float(lo), 4), round(float(hi), 4)], "n": int(n),
            "better": "higher" if higher_is_better else "lower"}


def compare_classified(candidate: Classified, champion: Classified, *, gated: Sequence[str] = ("macro_f1",),
                       replicates: int = 2000, seed: int = 0, n_bins: int = 10) -> dict[str, dict[str, Any]]:
    """Paired deltas of macro_f1, accuracy and ece of two models on the same rows (``gated``: which of them
    count for the verdict)."""
    if not np.array_equal(candidate.y, champion.y):
        raise ValueError("the two models were not scored on the same rows")
    present = np.bincount(candidate.y, minlength=candidate.n_labels) > 0
    a = classification_metrics(candidate, present, n_bins)
    b = classification_metrics(champion, present, n_bins)
    return {k: {**paired(a[k], b[k], len(candidate.y), replicates=replicates, seed=seed,
                         higher_is_better=k != "ece"), "gated": k in gated} for k in a}


def compare_ranks(candidate: np.ndarray, champion: np.ndarray, *, gated: Sequence[str] = ("top1", "top3"),
                  replicates: int = 2000, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Paired deltas of top-1 and top-3 from the ranks of the true labels under two models."""
    a, b = ranking_metrics(np.asarray(candidate, float)), ranking_metrics(np.asarray(champion, float))
    return {k: {**paired(a[k], b[k], len(candidate), replicates=replicates, seed=seed), "gated": k in gated}
            for k in a}


def outcome(delta: dict[str, Any], tolerance: float) -> str:
    """``better`` / ``worse`` when the whole 95 % interval is on one side of zero (``worse`` also needs a
    drop larger than ``tolerance``), else ``same``."""
    lo, hi = delta["ci95"]
    sign = 1.0 if delta["better"] == "higher" else -1.0
    lo, hi = sorted((sign * lo, sign * hi))
    if lo > 0:
        return "better"
    if hi < 0 and sign * delta["delta"] < -tolerance:
        return "worse"
    return "same"


def verdict(outcomes: Sequence[str]) -> str:
    """``worse`` if any gated metric is worse; ``better`` if none is and at least one is better; else
    ``no worse``."""
    if "worse" in outcomes:
        return "worse"
    return "better" if "better" in outcomes else "no worse"
