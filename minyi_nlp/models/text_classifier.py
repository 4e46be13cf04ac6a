"""One head and its encoder as a scikit-learn-style estimator on raw texts, for experiments.

Cross-validation, the learning curve, label-noise analysis and self-training refit a model many times
on different rows; :class:`TextClassifier` is the encoder + one :class:`~minyi_nlp.models.heads.LinearHead`
exactly as ``minyi train`` builds them, behind ``fit(texts, labels)`` / ``predict_proba(texts)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from minyi_nlp.models.encoder import Encoder
from minyi_nlp.models.heads import LinearHead
from minyi_nlp.params import EncoderParams, HeadParams


class TextClassifier(ClassifierMixin, BaseEstimator):
    """Encoder + calibrated linear head; ``__init__`` stores parameters, ``fit`` returns self."""

    def __init__(self, encoder: EncoderParams | None = None, head: HeadParams | None = None) -> None:
        self.encoder = encoder or EncoderParams()
        self.head = head or HeadParams()

    def fit(self, texts: Sequence[str], labels: Sequence[str], groups: Sequence | None = None,
            encoder_texts: Sequence[str] = ()) -> TextClassifier:
        """Fit on raw ``texts``; the encoder also reads ``encoder_texts`` (other heads' training texts)."""
        texts = [str(t) for t in texts]
        self.encoder_ = Encoder(self.encoder).fit(texts + [str(t) for t in encoder_texts])
        self.head_ = LinearHead(self.head).fit(self.encoder_.transform(texts), labels, groups=groups)
        self.classes_ = self.head_.classes_
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.head_.predict_proba(self.encoder_.transform(list(texts)))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(texts), axis=1)]
