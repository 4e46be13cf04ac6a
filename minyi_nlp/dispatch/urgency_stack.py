"""Second stage of the urgent flag: a logistic regression over the urgency head and the hazard lexicon.

Instead of the fixed mix ``(1 − w)·P + w·lexicon``, :class:`Stacker` reads, per appeal,
:data:`FEATURES`: the head's logit, the lexicon's best-hit score, whether it hit at all, which hit statuses
occur (present, hedged, historical, negated, resolved, weak) and which document contexts it found (aftermath,
policy, nuisance). Per-kind scores are left out: most kinds have a handful of training positives (no gas leak
among them), so their weights would be noise, and the lexicon's score already carries the kind's confidence.

:func:`fit_stacker` fits it on the urgency head's TRAINING rows only (weak rules + hand-read rows, never the
hand-labelled evaluation set), with the head's P on each row cross-fitted (the head is refitted without that
row's fold), so the second stage sees the head as it behaves on unseen text. ``C`` is chosen by
cross-validated average precision on those rows. The flag threshold is then chosen on the hand-labelled set
(:func:`minyi_nlp.dispatch.urgency.tune_urgency`), as for the mix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from minyi_nlp.params import HeadSection, StackParams

if TYPE_CHECKING:
    from minyi_nlp.models.encoder import Encoder
    from minyi_nlp.models.training import Encoded
    from minyi_nlp.routing.hazards import HazardLexicon, HazardResult

STATUSES: tuple[str, ...] = ("present", "hedged", "historical", "negated", "resolved", "weak")
CONTEXTS: tuple[str, ...] = ("aftermath", "policy", "nuisance")
FEATURES: tuple[str, ...] = ("head_logit", "lexicon", "any_hit", *(f"status_{s}" for s in STATUSES),
                             *(f"context_{c}" for c in CONTEXTS))
_EPS = 1e-4


def features(model: Sequence[float], results: Sequence[HazardResult]) -> np.ndarray:
    """One row of :data:`FEATURES` per appeal from the head's P(urgent) and the lexicon's ``HazardResult``."""
    p = np.clip(np.asarray(model, np.float64), _EPS, 1 - _EPS)
    flags = []
    for r in results:
        statuses = {h.status for h in r.hits}
        flags.append([r.score, bool(r.hits), *(s in statuses for s in STATUSES), *(c in r.context for c in CONTEXTS)])
    rows = np.empty((len(results), len(FEATURES)))
    rows[:, 0] = np.log(p / (1 - p))
    if flags:
        rows[:, 1:] = np.asarray(flags, np.float64)
    return rows


@dataclass(frozen=True)
class Stacker:
    """A fitted second stage: P(urgent) = σ(coef · features + intercept)."""

    coef: tuple[float, ...]
    intercept: float
    C: float

    def score(self, model: Sequence[float], results: Sequence[HazardResult]) -> np.ndarray:
        """P(urgent) of each appeal from the head's P and the lexicon's results."""
        z = features(model, results) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def as_dict(self) -> dict[str, Any]:
        """``urgency.json``'s ``stack`` (unrounded: the served flag is exactly the one tuned)."""
        return {"features": list(FEATURES), "coef": list(self.coef), "intercept": self.intercept, "C": self.C}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stacker:
        if list(data["features"]) != list(FEATURES):
            raise ValueError(f"urgency.json stack features {data['features']} are not this code's {list(FEATURES)}; "
                             "retrain the bundle")
        return cls(tuple(float(c) for c in data["coef"]), float(data["intercept"]), float(data["C"]))


def cross_fitted_proba(section: HeadSection, rows: Encoded, encoder: Encoder, folds: int, seed: int = 0) -> np.ndarray:
    """P(urgent) of the head on each of ``rows``, from a head fitted without that row's fold."""
    from sklearn.model_selection import StratifiedKFold

    from minyi_nlp.models.training import Encoded, fit_head

    y = (rows.frame["label"] == "urgent").to_numpy(int)
    out = np.zeros(len(y))
    for fit, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        part = Encoded(rows.frame.iloc[fit].reset_index(drop=True), [rows.prepared[i] for i in fit], rows.X[fit])
        head = fit_head(section, part, None, encoder)
        out[test] = head.predict_proba(rows.X[test])[:, head.labels.index("urgent")]
    return out


def fit_stacker(section: HeadSection, params: StackParams, rows: Encoded, encoder: Encoder,
                lexicon: HazardLexicon) -> tuple[Stacker, dict[str, Any]]:
    """Fit the second stage on the urgency task's rows (``minyi train`` passes all of them: weak and hand-read,
    never the hand-labelled evaluation set); returns it and a report (rows, C tried with their cross-validated
    average precision)."""
    y = (rows.frame["label"] == "urgent").to_numpy(int)
    folds = max(2, min(params.folds, int(y.sum()), int((1 - y).sum())))
    X = features(cross_fitted_proba(section, rows, encoder, folds), lexicon.match_many(rows.prepared))
    model, tried = fit_stage(X, y, params, folds)
    stacker = Stacker(tuple(float(c) for c in model.coef_[0]), float(model.intercept_[0]), float(model.C))
    report = {"rows": len(y), "urgent": int(y.sum()), "C_tried": {str(c): round(v, 4) for c, v in tried.items()},
              **stacker.as_dict(),
              "note": "fitted on the urgency head's training rows (weak + hand-read), head P cross-fitted; "
                      "C by cross-validated average precision there"}
    return stacker, report


def fit_stage(X: np.ndarray, y: np.ndarray, params: StackParams, folds: int) -> tuple[Any, dict[float, float]]:
    """The second stage's logistic regression on feature rows ``X``: each ``C`` of ``params`` scored by
    cross-validated average precision on the rows, the best (ties: the smaller ``C``) refitted on all of them.
    Returns the fitted model and ``{C: average precision}``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    split = StratifiedKFold(folds, shuffle=True, random_state=0)
    tried = {}
    for C in params.C:
        model = LogisticRegression(C=C, class_weight=params.class_weight, max_iter=5000)
        cv = cross_val_predict(model, X, y, cv=split, method="predict_proba")[:, 1]
        tried[C] = float(average_precision_score(y, cv))
    best = max(params.C, key=lambda c: (tried[c], -c))
    return LogisticRegression(C=best, class_weight=params.class_weight, max_iter=5000).fit(X, y), tried
