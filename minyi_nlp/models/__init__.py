"""Models: the shared encoder, the heads that read its vector, bundles, training and evaluation.

Submodules are imported on first attribute access.
"""

from __future__ import annotations

from minyi_nlp.lazy import lazy_exports

_EXPORTS = {
    "Bundle": "bundle",
    "ModelIntegrityError": "bundle",
    "ModelNotFoundError": "bundle",
    "load_bundle": "bundle",
    "Encoder": "encoder",
    "LinearHead": "heads",
    "train_heads": "training",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
