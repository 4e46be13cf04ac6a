"""MLflow experiment tracking and model registry (local sqlite store by default)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minyi_nlp.config import get_settings

log = logging.getLogger(__name__)

EXPERIMENT = "minyi-bundle"
REGISTERED_MODEL = "minyi-bundle"
CV_EXPERIMENT = "minyi-category-cv"


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a sqlite store inside the project (gitignored)."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    settings = get_settings()
    return settings.mlflow_tracking_uri or f"sqlite:///{settings.project_dir / 'mlflow.db'}"


def flatten(prefix: str, value: Any, out: dict[str, float]) -> None:
    """Numeric leaves of nested dicts as ``a.b.c`` keys into ``out``."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out[prefix] = float(value)


def _experiment_id(client: Any, uri: str, name: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    location = None
    if uri.startswith("sqlite:///"):
        location = (get_settings().project_dir / "mlartifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


def _client() -> tuple[Any, str]:
    import mlflow
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri), uri


def log_cv_run(
    name: str, report: dict[str, Any], artifacts: Sequence[Path] = (), experiment: str = CV_EXPERIMENT
) -> str:
    """Log one cross-validation experiment: its params, mean/std metrics and per-fold metrics (step = fold)."""
    import mlflow

    client, uri = _client()
    exp_id = _experiment_id(client, uri, experiment)
    with mlflow.start_run(experiment_id=exp_id, run_name=name) as run:
        mlflow.log_params({k: ("null" if v is None else v) for k, v in report["params"].items()})
        flat: dict[str, float] = {}
        for key, stats in report["summary"].items():
            flat[f"{key}_mean"], flat[f"{key}_std"] = float(stats["mean"]), float(stats["std"])
        mlflow.log_metrics(flat)
        for fold in report["folds"]:
            for key in ("macro_f1", "accuracy", "top2_accuracy", "ece", "train_seconds"):
                if key in fold:
                    mlflow.log_metric(f"fold_{key}", float(fold[key]), step=int(fold["fold"]))
        mlflow.set_tags({"minyi.experiment": name, "kind": "cross-validation"})
        for path in artifacts:
            mlflow.log_artifact(str(path))
        return run.info.run_id


def log_training_run(
    *,
    params: dict[str, Any],
    metrics: dict[str, Any],
    plots: list[Path],
    model_dir: Path,
    tags: dict[str, str],
    experiment: str = EXPERIMENT,
    registered_model: str = REGISTERED_MODEL,
) -> dict[str, str]:
    """Log one training run (``metrics``: flat name → number) and register its model directory as a new
    model version."""
    import mlflow

    client, uri = _client()
    exp_id = _experiment_id(client, uri, experiment)
    flat = {k: float(v) for k, v in metrics.items()}
    with mlflow.start_run(experiment_id=exp_id) as run:
        mlflow.log_params({k: ("null" if v is None else v) for k, v in params.items()})
        mlflow.log_metrics(flat)
        mlflow.set_tags(tags)
        for p in plots:
            mlflow.log_artifact(str(p), artifact_path="plots")
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
        artifact_uri = mlflow.get_artifact_uri("model")
        run_id = run.info.run_id
    try:
        client.get_registered_model(registered_model)
    except Exception:  # noqa: BLE001 - mlflow raises its own RestException when absent
        client.create_registered_model(registered_model)
    mv = client.create_model_version(registered_model, source=artifact_uri, run_id=run_id, tags=tags)
    log.info("MLflow run %s, registered %s version %s (%s)", run_id, registered_model, mv.version, uri)
    return {"run_id": run_id, "registered_model": registered_model, "model_version": str(mv.version)}
