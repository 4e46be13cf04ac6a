"""Keywords for a whole micro-batch at once.

``CategoryPredictor.explain`` featurises one text per call; in the service that was a third of a
request's time. :func:`batch_keywords` computes exactly the same words (same features, same weights,
same selection — a test checks it against ``explain``) with one featurisation per batch. Models
without linear feature weights (anything but :class:`minyi_nlp.classifier.AppealClassifier`) return
None and the service falls back to the dispatcher's own per-text explanation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def supports_batch_keywords(category: Any) -> bool:
    model = getattr(category, "model", None)
    return (hasattr(model, "feature_weights") and hasattr(model, "pipeline_") and hasattr(model, "classes_")
            and hasattr(model, "max_chars"))


def _top_terms(names: np.ndarray, indices: np.ndarray, contrib: np.ndarray, k: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i in np.argsort(-contrib):  # as AppealClassifier.explain, so that ties break the same way
        if contrib[i] <= 0 or len(out) >= k:
            break
        term = str(names[indices[i]]).split("__", 1)[-1]
        if term in seen or not term.strip():
            continue
        seen.add(term)
        out.append(term)
    return out


def batch_keywords(category: Any, texts: Sequence[str], labels: Sequence[str], k: int = 5) -> list[list[str]] | None:
    """The ``k`` words of each text that pushed hardest towards its label, or None if unsupported."""
    if not supports_batch_keywords(category):
        return None
    from minyi_nlp.classifier import prepare_texts

    model = category.model
    names, coef = model.feature_weights()
    row_of = {str(label): i for i, label in enumerate(model.classes_)}
    x = model.pipeline_.named_steps["features"].transform(prepare_texts(texts, model.max_chars)).tocsr()
    out = []
    for i, label in enumerate(labels):
        lo, hi = x.indptr[i], x.indptr[i + 1]
        indices = x.indices[lo:hi]
        contrib = x.data[lo:hi] * coef[row_of[label], indices]
        out.append(_top_terms(names, indices, contrib, k))
    return out
