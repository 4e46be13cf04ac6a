"""Evaluate a category model on labelled raw text: metrics, plots, rejects for unusable rows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minyi_nlp.metrics import classification_report
from minyi_nlp.params import Params
from minyi_nlp.plots import plot_confusion, plot_per_class_f1, plot_reliability

log = logging.getLogger(__name__)


def evaluate_frame(model: Any, texts: Sequence[str], labels: Sequence[str], params: Params) -> dict:
    proba = model.predict_proba(list(texts))
    return classification_report(labels, proba, [str(c) for c in model.classes_], params.evaluate.n_bins)


def write_plots(metrics: dict, out_dir: Path) -> list[Path]:
    """Confusion matrix, reliability diagram and per-class F1 as PNG files."""
    import numpy as np

    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        plot_confusion(np.asarray(metrics["confusion_matrix"]), metrics["labels"], out_dir / "confusion_matrix.png"),
        plot_reliability(metrics["reliability"], metrics["ece"], out_dir / "reliability.png"),
        plot_per_class_f1(metrics["per_class"], out_dir / "per_class_f1.png"),
    ]


def evaluate_file(
    model: Any,
    path: Path,
    *,
    text_col: str,
    label_col: str,
    params: Params,
    rejects_path: Path | None = None,
    encoding: str | None = None,
) -> dict:
    """Evaluate on any labelled file; rows with empty text or unknown labels go to ``rejects_path``."""
    from minyi_nlp.data import load_file

    labels = [str(c) for c in model.classes_]
    result = load_file(
        path,
        {"content": text_col, "category": label_col},
        labels=labels,
        rejects_path=rejects_path,
        encoding=encoding,
    )
    frame = result.frame
    if frame.empty:
        raise ValueError(f"{path}: no usable rows to evaluate ({len(result.rejects)} rejected)")
    metrics = evaluate_frame(model, frame["content"].tolist(), frame["category"].tolist(), params)
    metrics["rejected"] = len(result.rejects)
    if len(result.rejects):
        log.warning("%s: %d rows rejected, see %s", path, len(result.rejects), rejects_path)
    return metrics
