"""MLflow experiment tracking and model registry (local sqlite store by default)."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from minyi_nlp.config import get_settings

log = logging.getLogger(__name__)

EXPERIMENT = "minyi-category"
REGISTERED_MODEL = "minyi-category"


def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else a sqlite store inside the project (gitignored)."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    settings = get_settings()
    return settings.mlflow_tracking_uri or f"sqlite:///{settings.project_dir / 'mlflow.db'}"


def _flatten(prefix: str, value: Any, out: dict[str, float]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        out[prefix] = float(value)


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
    """Log one training run and register its model directory as a new model version."""
    import mlflow
    from mlflow.tracking import MlflowClient

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        location = None
        if uri.startswith("sqlite:///"):
            location = (get_settings().project_dir / "mlartifacts").as_uri()
        exp_id = client.create_experiment(experiment, artifact_location=location)
    else:
        exp_id = exp.experiment_id
    flat: dict[str, float] = {}
    for key in ("accuracy", "macro_f1", "top2_accuracy", "ece", "n", "train_seconds", "model_mb"):
        if key in metrics:
            _flatten(key, metrics[key], flat)
    for label, vals in metrics.get("per_class", {}).items():
        flat[f"f1.{label}"] = float(vals["f1"])
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
