"""MLflow tracking: a run with params/metrics/plots and a registered model version, in a temp store."""

import json
import shutil

import pytest


@pytest.fixture()
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MINYI_PROJECT_DIR", str(tmp_path))
    from minyi_nlp.config import get_settings

    get_settings.cache_clear()
    yield uri
    get_settings.cache_clear()


def test_training_run_is_logged_and_registered(tmp_path, store, tiny_bundle_dir):
    from mlflow.tracking import MlflowClient

    from minyi_nlp.models.tracking import flatten, log_training_run

    model_dir = tmp_path / "bundle"
    shutil.copytree(tiny_bundle_dir, model_dir)
    plot = tmp_path / "p.png"
    plot.write_bytes(b"\x89PNG fake")
    metrics: dict[str, float] = {}
    flatten("", {"category": {"macro_f1": 0.91, "ece": 0.03}, "routing": {"blend": {"top1": 0.6}}}, metrics)
    assert metrics == {"category.macro_f1": 0.91, "category.ece": 0.03, "routing.blend.top1": 0.6}
    first = log_training_run(params={"C": 0.5}, metrics=metrics, plots=[plot], model_dir=model_dir,
                             tags={"minyi.version": "v1"}, experiment="t", registered_model="t-model")
    second = log_training_run(params={"C": 0.5}, metrics=metrics, plots=[plot], model_dir=model_dir,
                              tags={"minyi.version": "v2"}, experiment="t", registered_model="t-model")
    assert (first["model_version"], second["model_version"]) == ("1", "2")
    client = MlflowClient(tracking_uri=store)
    run = client.get_run(first["run_id"])
    assert run.data.params["C"] == "0.5"
    assert run.data.metrics["category.macro_f1"] == pytest.approx(0.91)
    names = {a.path for a in client.list_artifacts(first["run_id"], "model")}
    assert {"model/manifest.json", "model/dispatch.json"} <= names
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert manifest["format"] == "minyi-bundle/1"


def test_cross_validation_run_is_logged_with_per_fold_steps(tmp_path, store):
    from mlflow.tracking import MlflowClient

    from minyi_nlp.models.tracking import log_cv_run

    report = {
        "params": {"linear": "svm", "C": 0.5, "max_features": None},
        "summary": {"macro_f1": {"mean": 0.91, "std": 0.02}, "ece": {"mean": 0.03, "std": 0.01}},
        "folds": [{"fold": k, "macro_f1": 0.9 + k / 100, "ece": 0.03} for k in range(3)],
    }
    out = tmp_path / "cv.json"
    out.write_text(json.dumps(report))
    run_id = log_cv_run("svm-test", report, [out], experiment="cv-test")
    client = MlflowClient(tracking_uri=store)
    run = client.get_run(run_id)
    assert run.info.run_name == "svm-test"
    assert run.data.params["max_features"] == "null"
    assert run.data.metrics["macro_f1_mean"] == pytest.approx(0.91)
    history = client.get_metric_history(run_id, "fold_macro_f1")
    assert sorted((m.step, round(m.value, 2)) for m in history) == [(0, 0.9), (1, 0.91), (2, 0.92)]
    assert [a.path for a in client.list_artifacts(run_id)] == ["cv.json"]
