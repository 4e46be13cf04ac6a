"""Train the category model, evaluate it on the held-out raw split, save it, track it in MLflow."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from minyi_nlp.artifacts import MODEL_FILE, ModelNotFoundError, read_manifest, save_model, sha256_frame_text
from minyi_nlp.classifier import AppealClassifier
from minyi_nlp.config import get_settings
from minyi_nlp.params import Params, TrainParams, load_params
from minyi_nlp.prepare import APPEALS_FILE, COPIES_FILE, EVAL_FILE, TRAIN_FILE, run_prepare

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "category"


@dataclass
class TrainResult:
    model_dir: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    tracking: dict[str, str] | None


def build_classifier(train: TrainParams) -> AppealClassifier:
    """The category estimator (also used with other label sets by the department and appeal-type models)."""
    return AppealClassifier(**train.model_dump())


def build_estimator(params: Params, backend: str = "linear") -> tuple[Any, dict[str, Any]]:
    """The category estimator for ``backend`` (``linear`` or ``transformer``) and its parameters."""
    if backend == "linear":
        return build_classifier(params.train), params.train.model_dump()
    if backend == "transformer":
        from minyi_nlp.transformer import TransformerClassifier

        settings = get_settings()
        kwargs = dict(params.transformer)
        ckpt = Path(kwargs.pop("checkpoint_dir", settings.models_dir / "e5-small"))
        kwargs["checkpoint_dir"] = ckpt if ckpt.is_absolute() else settings.project_dir / ckpt
        try:
            clf = TransformerClassifier(**kwargs)
        except TypeError as exc:
            raise ValueError(f"params.yaml transformer section: {exc}") from None
        if not (kwargs["checkpoint_dir"] / "config.json").exists():
            raise FileNotFoundError(
                f"no transformers checkpoint in {kwargs['checkpoint_dir']}: run "
                f"`minyi models import-e5 --out {kwargs['checkpoint_dir']}` or set transformer.checkpoint_dir"
            )
        return clf, {k: (str(v) if isinstance(v, Path) else v) for k, v in kwargs.items()}
    raise ValueError(f"backend must be 'linear' or 'transformer', got {backend!r}")


def training_groups(train: pd.DataFrame) -> list[str] | None:
    """Group keys for training rows: copies of one appeal share one; extra rows are their own group."""
    if "appeal" not in train.columns:
        return None
    appeal = train["appeal"]
    return [f"a{int(a)}" if pd.notna(a) else f"x{i}" for i, a in enumerate(appeal)]


def load_split(processed_dir: Path, params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and evaluation frames, running the prepare stage first when they are missing."""
    train_path, eval_path = processed_dir / TRAIN_FILE, processed_dir / EVAL_FILE
    if not all((processed_dir / f).exists() for f in (TRAIN_FILE, EVAL_FILE, APPEALS_FILE, COPIES_FILE)):
        log.info("no prepared data in %s: running prepare", processed_dir)
        run_prepare(params.prepare, processed_dir)
    return pd.read_parquet(train_path), pd.read_parquet(eval_path)


def train_category(
    params: Params | None = None,
    *,
    model_dir: Path | None = None,
    processed_dir: Path | None = None,
    extra_rows: pd.DataFrame | None = None,
    track: bool = True,
    backend: str = "linear",
) -> TrainResult:
    """Fit on the training split (plus ``extra_rows`` text/label, e.g. dispatcher feedback).

    ``backend="transformer"`` fine-tunes the checkpoint named in params.yaml's ``transformer`` section.
    """
    from minyi_nlp.evaluate import evaluate_frame, write_plots

    settings = get_settings()
    params = params or load_params()
    model_dir = model_dir or settings.category_model_dir
    processed_dir = processed_dir or settings.processed_dir
    train, evaluation = load_split(processed_dir, params)
    if extra_rows is not None and len(extra_rows):
        train = pd.concat([train, extra_rows[["text", "label"]]], ignore_index=True)
    texts, labels = train["text"].astype(str).tolist(), train["label"].astype(str).tolist()
    data_hash = sha256_frame_text(texts + labels)

    clf, model_params = build_estimator(params, backend)
    t0 = time.perf_counter()
    if backend == "linear":
        clf.fit(texts, labels, groups=training_groups(train))
    else:
        clf.fit(texts, labels)
    train_seconds = time.perf_counter() - t0
    log.info("trained on %d rows in %.1fs", len(texts), train_seconds)

    metrics = evaluate_frame(clf, evaluation["text"].tolist(), evaluation["label"].tolist(), params)
    metrics["train_seconds"] = round(train_seconds, 2)
    metrics["n_train"] = len(texts)
    manifest = save_model(
        clf,
        model_dir,
        kind="category",
        data_hash=data_hash,
        labels=[str(c) for c in clf.classes_],
        params={"backend": backend, **model_params},
        metrics={k: v for k, v in metrics.items() if k not in ("reliability", "confusion_matrix")},
    )
    metrics["model_mb"] = round((model_dir / MODEL_FILE).stat().st_size / 2**20, 2)
    tracking = None
    if track:
        from minyi_nlp.tracking import log_training_run

        plots = write_plots(metrics, settings.reports_dir / "train_plots")
        tracking = log_training_run(
            params={"backend": backend, **model_params, **{f"prepare.{k}": v for k, v in params.prepare}},
            metrics=metrics,
            plots=plots,
            model_dir=model_dir,
            tags={"minyi.version": manifest["version"], "training_data_sha256": data_hash},
        )
    return TrainResult(model_dir=model_dir, manifest=manifest, metrics=metrics, tracking=tracking)


def ensure_category_model(model_dir: Path | None = None) -> Path:
    """Return the model directory, training a model with the default parameters if there is none.

    A model chosen with ``MINYI_CATEGORY_MODEL`` other than ``category`` is never trained behind the
    user's back: a missing one is an error that says how to build it.
    """
    settings = get_settings()
    model_dir = model_dir or settings.category_model_dir
    try:
        read_manifest(model_dir)
    except FileNotFoundError:
        if settings.category_model != DEFAULT_MODEL_NAME and Path(model_dir).name == settings.category_model:
            raise ModelNotFoundError(
                f"MINYI_CATEGORY_MODEL={settings.category_model} but {model_dir} holds no model: build it with "
                f"`minyi train --model-name {settings.category_model} …` or unset MINYI_CATEGORY_MODEL"
            ) from None
        log.warning("no category model at %s: training one now (about a minute)", model_dir)
        train_category(model_dir=model_dir)
    return model_dir
