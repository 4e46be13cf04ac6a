"""Batch re-classification of historical appeals: streaming, resumable, locally or on Ray.

``reclassify(input, output, ...)`` (:mod:`minyi_nlp.batch.job`) is the entry point; the CLI
command is :func:`minyi_nlp.batch.cli.reclassify_command`; ``python -m minyi_nlp.batch`` runs it
standalone. Nothing heavy (and never Ray) is imported until it is used.
"""

from __future__ import annotations

from minyi_nlp.lazy import lazy_exports

_EXPORTS = {
    "reclassify": "job",
    "Summary": "summary",
    "ColumnMap": "sources",
    "ResumeMismatch": "store",
    "JobLocked": "store",
    "output_schema": "predict",
    "predict_frame": "predict",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
