"""A baseline urgency scorer: character n-gram TF-IDF and logistic regression, trained on weak labels.

It is the yardstick the urgency head (a calibrated linear model on the shared encoder's vector) has to
beat on the hand-labelled set; it is not wired into dispatch. Texts are preprocessed (normalised and
masked) appeal texts, as :func:`minyi_nlp.data.urgency_labels.appeal_pool` returns them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

__all__ = ["UrgencyBaseline"]


class UrgencyBaseline(ClassifierMixin, BaseEstimator):
    """TF-IDF over character 1–3-grams (first ``max_chars`` characters) → logistic regression.

    ``fit(texts, urgent, sample_weight=confidence)``; ``predict_proba(texts)[:, 1]`` is the urgency score.
    """

    def __init__(self, *, max_chars: int = 400, min_df: int = 2, C: float = 4.0, max_features: int = 200_000) -> None:
        self.max_chars = max_chars
        self.min_df = min_df
        self.C = C
        self.max_features = max_features

    def _cut(self, texts: Sequence[str]) -> list[str]:
        return [t[: self.max_chars] for t in texts]

    def fit(
        self, texts: Sequence[str], y: Sequence[int], sample_weight: Sequence[float] | None = None
    ) -> UrgencyBaseline:
        self.vectorizer_ = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=self.min_df,
                                           max_features=self.max_features, sublinear_tf=True)
        X = self.vectorizer_.fit_transform(self._cut(texts))
        self.model_ = LogisticRegression(C=self.C, class_weight="balanced", max_iter=2000)
        weights = None if sample_weight is None else np.asarray(sample_weight, float)
        self.model_.fit(X, np.asarray(y, int), sample_weight=weights)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.model_.predict_proba(self.vectorizer_.transform(self._cut(texts)))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[self.predict_proba(texts).argmax(axis=1)]

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        """P(urgent) per text: the callable the evaluation takes (texts → probabilities)."""
        return self.predict_proba(texts)[:, 1]
