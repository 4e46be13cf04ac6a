"""Evaluate a bundle's head on labelled raw text: metrics, plots, rejects for unusable rows."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from minyi_nlp.models.bundle import Bundle
from minyi_nlp.models.metrics import classification_report
from minyi_nlp.models.plots import plot_confusion, plot_per_class_f1, plot_reliability

log = logging.getLogger(__name__)

# the category head's plots keep the names the README and dvc.yaml have always used
PLOT_NAMES = {"category": ("confusion_matrix", "reliability", "per_class_f1")}


def evaluate_texts(bundle: Bundle, head: str, texts: Sequence[str], labels: Sequence[str],
                   n_bins: int = 10) -> dict[str, Any]:
    """Classification report of ``head`` on raw ``texts`` (encoded once, keyword rules applied)."""
    X, prepared = bundle.encode(list(texts))
    return classification_report(list(labels), bundle.predict_proba(head, X, prepared), bundle.head(head).labels,
                                 n_bins)


def write_plots(metrics: Mapping[str, Any], out_dir: Path, head: str = "category") -> list[Path]:
    """Confusion matrix, reliability diagram and per-class F1 of one head as PNG files."""
    names = PLOT_NAMES.get(head, (f"{head}_confusion", f"{head}_reliability", f"{head}_per_class_f1"))
    out_dir.mkdir(parents=True, exist_ok=True)
    title = "Confusion matrix" if head == "category" else f"{head}: confusion matrix (held-out)"
    return [
        plot_confusion(np.asarray(metrics["confusion_matrix"]), list(metrics["labels"]), out_dir / f"{names[0]}.png",
                       title=title),
        plot_reliability(metrics["reliability"], metrics["ece"], out_dir / f"{names[1]}.png"),
        plot_per_class_f1(metrics["per_class"], out_dir / f"{names[2]}.png"),
    ]


def write_head_report(name: str, metrics: Mapping[str, Any], reports_dir: Path) -> list[Path]:
    """``reports/<name>_eval.json`` (without the reliability bins) and the head's plots."""
    public = {k: v for k, v in metrics.items() if k != "reliability"}
    (reports_dir / f"{name}_eval.json").write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n",
                                                  encoding="utf-8")
    return write_plots(metrics, reports_dir / "plots", head=name)


def evaluate_file(
    bundle: Bundle,
    path: Path,
    *,
    head: str = "category",
    text_col: str,
    label_col: str,
    n_bins: int = 10,
    rejects_path: Path | None = None,
    encoding: str | None = None,
) -> dict[str, Any]:
    """Evaluate ``head`` on any labelled file; rows with empty text or unknown labels go to ``rejects_path``."""
    from minyi_nlp.data import load_file

    result = load_file(
        path,
        {"content": text_col, "category": label_col},
        labels=bundle.head(head).labels,
        rejects_path=rejects_path,
        encoding=encoding,
    )
    frame = result.frame
    if frame.empty:
        raise ValueError(f"{path}: no usable rows to evaluate ({len(result.rejects)} rejected)")
    metrics = evaluate_texts(bundle, head, frame["content"].tolist(), frame["category"].tolist(), n_bins)
    metrics["rejected"] = len(result.rejects)
    if len(result.rejects):
        log.warning("%s: %d rows rejected, see %s", path, len(result.rejects), rejects_path)
    return metrics


def evaluate_held_out(bundle: Bundle, head: str, n_bins: int = 10) -> dict[str, Any]:
    """``head`` scored on its held-out rows, as recorded in the bundle's ``splits.json``."""
    from minyi_nlp.data.tasks import load_task
    from minyi_nlp.params import load_params

    ids = set(bundle.extras.get("splits", {}).get(head, {}).get("test", []))
    if not ids:
        raise ValueError(f"bundle {bundle.version} records no held-out part for head {head!r}")
    frame = load_task(head, load_params()).frame
    frame = frame[frame["id"].astype(str).isin(ids)]
    metrics = evaluate_texts(bundle, head, frame["text"].astype(str).tolist(), frame["label"].astype(str).tolist(),
                             n_bins)
    metrics["data"] = f"held-out part of head {head} ({len(frame)} of {len(ids)} recorded rows found)"
    return metrics
