"""The department-type model: appeal text → P(department type | text), trained on derived labels.

Labels come from :mod:`minyi_nlp.routing.departments` (the replying unit of Teddy Cup 附件4 replies
and the Shangluo ``reply_agency``). Generic offices (信息办, 区县人民政府, 市人民政府, 党委 …) are *not*
targets: they forward appeals rather than handle a topic, so a text → office mapping learns who happens
to answer the mailbox, not who is responsible (76.8 % of Shangluo letters are answered by them). They
stay in the duty list where no line department owns a topic.

The classifier is the project's :class:`~minyi_nlp.classifier.AppealClassifier` on a different label
set. The saved model directory holds ``model.joblib``, ``routing.json`` (the blend weight and the
temperature tuned on the validation part) and ``split.csv`` (which appeal went to which part), all
hashed in ``manifest.json``. :func:`train_department` fits, tunes, evaluates and saves;
:class:`DepartmentModel` is what the dispatcher loads.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from minyi_nlp.params import TrainParams
from minyi_nlp.train import TrainResult, build_classifier

log = logging.getLogger(__name__)

KIND = "department"
ROUTING_FILE = "routing.json"
SPLIT_FILE = "split.csv"
EXPERIMENT = "minyi-department"
SOURCES = ("teddy_fj4", "shangluo")


class DepartmentParams(BaseModel):
    """``params.yaml`` section ``department``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 42
    val_share: float = Field(0.15, gt=0, lt=0.5)
    test_share: float = Field(0.15, gt=0, lt=0.5)
    min_rows: int = Field(8, ge=2)  # a type needs this many training rows to be a model target
    same_kind_cosine: float = Field(0.9, gt=0, le=1)  # near-duplicate appeals (dedup.duplicate_groups)
    blend_grid: int = Field(20, ge=2)  # blend weights 0, 1/grid, …, 1 tried on the validation part
    refit: bool = True  # refit on training + validation parts after tuning (the test part is never used)
    # 50k features per vectoriser and 3 calibration folds: the same validation top-1/top-3 as 400k/5 folds
    # (0.569/0.794 vs 0.573/0.790) at a twelfth of the size (~8 MB instead of 92 MB) and a third of the time
    # isotonic: model-alone validation ECE 0.079 vs 0.133 with sigmoid at the same top-1/top-3
    model: TrainParams = TrainParams(C=0.5, calibration="isotonic", calibration_cv=3, max_features=50_000)


def load_department_params(path: Path | None = None) -> DepartmentParams:
    """The ``department`` section of ``params.yaml`` (defaults when absent)."""
    return DepartmentParams.model_validate(_params_section("department", path))


def _params_section(name: str, path: Path | None) -> dict[str, Any]:
    import yaml

    from minyi_nlp.config import PROJECT_DIR

    path = path or PROJECT_DIR / "params.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(data.get(name) or {})


# --------------------------------------------------------------------------- data


def load_department_data(*, lists: Any | None = None, raw_dir: Path | None = None) -> pd.DataFrame:
    """Every appeal with a derived department label, one row per appeal.

    Columns: ``id`` (``<source>:<row in the raw file>``; Shangluo repeats some mail ids), ``appeal_id``,
    ``source``, ``text`` (title + content), ``department``,
    ``generic``, ``jurisdiction`` (place written with the unit), ``level``, ``kind``, ``rule``.
    """
    from minyi_nlp.data import load_source
    from minyi_nlp.predict import compose_text
    from minyi_nlp.routing import derive_labels, load_lists

    lists = lists or load_lists()
    frames = []
    teddy = load_source("teddy_fj4_replies", raw_dir=raw_dir).frame
    teddy = teddy.drop(columns=["department"]).rename(columns={"reply": "答复意见"})
    frames.append(("teddy_fj4", derive_labels(teddy, source="teddy", lists=lists)))
    shangluo = load_source("shangluo_mailbox", raw_dir=raw_dir).frame.rename(columns={"department": "reply_agency"})
    frames.append(("shangluo", derive_labels(shangluo, source="shangluo", default_city="商洛市", lists=lists)))
    out = []
    for source, f in frames:
        f = f[f["department"].notna()]
        out.append(
            pd.DataFrame(
                {
                    "id": [f"{source}:{r}" for r in f["row"]],  # the raw file's row: unique, stable
                    "appeal_id": f["id"].astype(str).to_numpy(),
                    "source": source,
                    "text": [compose_text(t, c) for t, c in zip(f["title"], f["content"], strict=True)],
                    "department": f["department"].astype(str).to_numpy(),
                    "generic": f["dept_generic"].astype(bool).to_numpy(),
                    "jurisdiction": f["dept_jurisdiction"].to_numpy(),
                    "level": f["dept_level"].to_numpy(),
                    "kind": f["dept_kind"].to_numpy(),
                    "rule": f["dept_rule"].to_numpy(),
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def deduplicate(
    frame: pd.DataFrame, *, same_kind_cosine: float = 0.9, label_col: str = "department"
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per appeal: near-identical ``text`` (CJK-bigram cosine, :mod:`minyi_nlp.dedup`) keeps its
    first row; groups whose rows disagree on ``label_col`` are counted."""
    from minyi_nlp.dedup import duplicate_groups

    groups = duplicate_groups(frame["text"].tolist(), [False] * len(frame), same_kind_cosine=same_kind_cosine)
    frame = frame.assign(_group=groups)
    conflicts = int((frame.groupby("_group")[label_col].nunique() > 1).sum())
    kept = frame.drop_duplicates("_group", keep="first").drop(columns="_group").reset_index(drop=True)
    return kept, {"rows": len(frame), "kept": len(kept), "dropped": len(frame) - len(kept),
                  "groups_with_conflicting_labels": conflicts}


def assign_split(labels: Sequence[str], *, seed: int, val_share: float, test_share: float) -> np.ndarray:
    """'train' / 'val' / 'test' per row, stratified by label (each label shuffled with ``seed``).

    A label with too few rows to give one to a part keeps them in training.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(list(labels), dtype=object)
    out = np.full(len(labels), "train", dtype=object)
    for label in sorted(set(labels)):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        n_test = int(round(test_share * len(idx)))
        n_val = int(round(val_share * len(idx)))
        out[idx[:n_test]] = "test"
        out[idx[n_test : n_test + n_val]] = "val"
    return out


def department_dataset(params: DepartmentParams | None = None, **kwargs: Any) -> tuple[pd.DataFrame, dict]:
    """Derived labels, generic offices removed, de-duplicated, with a ``split`` column."""
    params = params or DepartmentParams()
    data = load_department_data(**kwargs)
    report: dict[str, Any] = {"labelled": {s: int((data["source"] == s).sum()) for s in SOURCES}}
    report["generic_excluded"] = {s: int(((data["source"] == s) & data["generic"]).sum()) for s in SOURCES}
    data = data[~data["generic"]].reset_index(drop=True)
    data, report["dedup"] = deduplicate(data, same_kind_cosine=params.same_kind_cosine)
    data["split"] = assign_split(data["department"], seed=params.seed, val_share=params.val_share,
                                 test_share=params.test_share)
    report["split"] = {k: int(v) for k, v in data["split"].value_counts().items()}
    return data, report


def model_targets(labels: Sequence[str], min_rows: int) -> list[str]:
    """Department types with at least ``min_rows`` rows (the others are not model targets)."""
    counts = pd.Series(list(labels)).value_counts()
    return sorted(str(k) for k, v in counts.items() if v >= min_rows)


# --------------------------------------------------------------------------- the loaded model


@dataclass
class DepartmentModel:
    """A loaded department-type model; ``scores`` gives P(department type | text)."""

    classifier: Any
    blend: float = 0.5
    temperature: float = 1.0
    version: str = ""
    manifest: Mapping[str, Any] | None = None
    path: Path | None = None
    category_version: str = ""  # the category model the blend was tuned with

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def scores_many(self, texts: Sequence[str]) -> list[dict[str, float]]:
        proba = self.classifier.predict_proba(list(texts))
        labels = self.labels
        return [{labels[j]: float(row[j]) for j in range(len(labels))} for row in proba]

    def scores(self, text: str) -> dict[str, float]:
        return self.scores_many([text])[0]

    def explain(self, text: str, department: str, k: int = 5) -> list[tuple[str, float]]:
        return self.classifier.explain(text, department, k)

    @classmethod
    def load(cls, model_dir: Path) -> DepartmentModel:
        """Load and hash-verify ``model_dir`` (raises ``ModelNotFoundError`` when absent)."""
        from minyi_nlp.artifacts import load_model

        loaded = load_model(model_dir)
        routing = json.loads((Path(model_dir) / ROUTING_FILE).read_text(encoding="utf-8"))
        return cls(loaded.model, float(routing["blend"]), float(routing.get("temperature", 1.0)),
                   loaded.version, loaded.manifest, Path(model_dir), str(routing.get("category_model", "")))


def load_department_model(model_dir: Path) -> DepartmentModel | None:
    """The model in ``model_dir``, or None (logged) when there is none."""
    from minyi_nlp.artifacts import ModelNotFoundError

    try:
        return DepartmentModel.load(model_dir)
    except ModelNotFoundError:
        log.info("no department model at %s: routing uses the duty list only (minyi train --task department)",
                 model_dir)
        return None


# --------------------------------------------------------------------------- training


def _fit(params: DepartmentParams, texts: list[str], labels: list[str]) -> tuple[Any, float]:
    targets = set(model_targets(labels, max(params.min_rows, params.model.calibration_cv)))
    keep = [i for i, y in enumerate(labels) if y in targets]
    clf = build_classifier(params.model)
    t0 = time.perf_counter()
    clf.fit([texts[i] for i in keep], [labels[i] for i in keep])
    return clf, time.perf_counter() - t0


def train_department(
    params: DepartmentParams | None = None,
    *,
    model_dir: Path | None = None,
    category_dir: Path | None = None,
    reports_dir: Path | None = None,
    track: bool = True,
    write_reports: bool = True,
    data: pd.DataFrame | None = None,
) -> TrainResult:
    """Fit on the training part, tune the blend on the validation part, refit on both, evaluate on the test
    part (duty list only / model only / blend), save to ``models/department`` and log to MLflow.

    ``reports_dir`` (default ``reports/``) receives ``department_eval.json`` and plots unless
    ``write_reports`` is false; pass a temporary folder from tests. ``data`` replaces
    :func:`department_dataset` (tests).
    """
    from minyi_nlp.artifacts import MODEL_FILE, sha256_frame_text
    from minyi_nlp.config import get_settings
    from minyi_nlp.predict import CategoryPredictor
    from minyi_nlp.routing import load_lists
    from minyi_nlp.routing.evaluate import (
        category_probabilities,
        evaluate_rankings,
        tune_blend,
        write_department_report,
    )
    from minyi_nlp.train import ensure_category_model

    settings = get_settings()
    params = params or load_department_params()
    model_dir = model_dir or settings.models_dir / "department"
    reports_dir = reports_dir or settings.reports_dir
    if data is None:
        data, data_report = department_dataset(params)
    else:
        data_report = {"given": len(data)}
    train, val, test = (data[data["split"] == s] for s in ("train", "val", "test"))
    lists = load_lists()
    category = CategoryPredictor.load(ensure_category_model(category_dir))

    # 1. fit on train, tune blend weight and temperature on val
    clf, first_seconds = _fit(params, train["text"].tolist(), train["department"].tolist())
    val_model = DepartmentModel(clf).scores_many(val["text"].tolist())
    val_cats = category_probabilities(category, val["text"].tolist())
    tuning = tune_blend(val_cats, val_model, val["department"].tolist(), lists, grid=params.blend_grid)
    log.info("blend weight %.2f, temperature %.2f (validation, n=%d)", tuning["blend"], tuning["temperature"],
             len(val))

    # 2. refit on train + val, evaluate on test
    fit_rows = pd.concat([train, val]) if params.refit else train
    texts, labels = fit_rows["text"].tolist(), fit_rows["department"].tolist()
    if params.refit:
        clf, train_seconds = _fit(params, texts, labels)
    else:
        train_seconds = first_seconds
    model = DepartmentModel(clf, tuning["blend"], tuning["temperature"])
    metrics = evaluate_rankings(test, category, model, lists)
    metrics.update(
        {
            "tuning": tuning,
            "data": data_report,
            "n_train": len(fit_rows),
            "train_seconds": round(train_seconds, 2),
            "model_targets": model.labels,
            "category_model": category.version,
        }
    )

    data_hash = sha256_frame_text(texts + labels)
    manifest = save_department_model(model, model_dir, split=data[["id", "source", "department", "split"]],
                                     data_hash=data_hash, params=params.model_dump(), metrics=_summary(metrics),
                                     category_version=category.version)
    metrics["model_version"] = manifest["version"]
    metrics["model_mb"] = round((model_dir / MODEL_FILE).stat().st_size / 2**20, 2)
    plots = write_department_report(metrics, reports_dir) if write_reports else []
    tracking = None
    if track:
        tracking = _track(params, metrics, plots, model_dir, manifest["version"], data_hash)
    return TrainResult(model_dir=model_dir, manifest=manifest, metrics=metrics, tracking=tracking)


def save_department_model(
    model: DepartmentModel,
    model_dir: Path,
    *,
    split: pd.DataFrame,
    data_hash: str,
    params: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    category_version: str = "",
) -> dict[str, Any]:
    """Write the classifier, ``routing.json`` (blend, temperature) and ``split.csv`` with a manifest."""
    from minyi_nlp.artifacts import save_model

    with tempfile.TemporaryDirectory() as tmp:
        routing_path, split_path = Path(tmp) / ROUTING_FILE, Path(tmp) / SPLIT_FILE
        routing = {"blend": model.blend, "temperature": model.temperature, "category_model": category_version}
        routing_path.write_text(json.dumps(routing, ensure_ascii=False), encoding="utf-8")
        split.to_csv(split_path, index=False)
        return save_model(model.classifier, model_dir, kind=KIND, data_hash=data_hash, labels=model.labels,
                          params=params, metrics=metrics or {},
                          extra_files={ROUTING_FILE: routing_path, SPLIT_FILE: split_path})


def _summary(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Headline figures for the manifest."""
    out: dict[str, Any] = {"n_test": metrics["n"], "blend": metrics["tuning"]["blend"],
                           "temperature": metrics["tuning"]["temperature"]}
    for method, m in metrics["methods"].items():
        out[f"{method}.top1"] = m["top1"]
        out[f"{method}.top3"] = m["top3"]
    return out


def _track(
    params: DepartmentParams, metrics: Mapping[str, Any], plots: list[Path], model_dir: Path, version: str,
    data_hash: str,
) -> dict[str, str]:
    from minyi_nlp.tracking import log_training_run

    blend = metrics["methods"]["blend"]
    headline = {"accuracy": blend["top1"], "ece": blend["ece"], "n": metrics["n"],
                "train_seconds": metrics["train_seconds"], "model_mb": metrics["model_mb"]}
    flat_params = {**{k: v for k, v in params.model_dump().items() if k != "model"},
                   **{f"model.{k}": v for k, v in params.model.model_dump().items()},
                   "blend": metrics["tuning"]["blend"], "temperature": metrics["tuning"]["temperature"]}
    tracking = log_training_run(params=flat_params, metrics=headline, plots=plots, model_dir=model_dir,
                                tags={"minyi.version": version, "training_data_sha256": data_hash},
                                experiment=EXPERIMENT, registered_model=EXPERIMENT)
    extra = {f"{method}.{k}": float(m[k]) for method, m in metrics["methods"].items() for k in ("top1", "top3")}
    log_extra_metrics(tracking["run_id"], extra)
    return tracking


def log_extra_metrics(run_id: str, metrics: Mapping[str, float]) -> None:
    """Add metrics that ``tracking.log_training_run`` does not pick up to a (finished) MLflow run."""
    from mlflow.tracking import MlflowClient

    from minyi_nlp.tracking import tracking_uri

    client = MlflowClient(tracking_uri=tracking_uri())
    for key, value in metrics.items():
        client.log_metric(run_id, key, float(value))


def ensure_department_model(model_dir: Path | None = None, *, category_dir: Path | None = None) -> Path:
    """Return the department model directory, training one (default parameters, no MLflow, no reports)
    when there is none."""
    from minyi_nlp.artifacts import read_manifest
    from minyi_nlp.config import get_settings

    model_dir = model_dir or get_settings().models_dir / "department"
    try:
        read_manifest(model_dir)
    except FileNotFoundError:
        log.warning("no department model at %s: training one now (under a minute)", model_dir)
        train_department(model_dir=model_dir, category_dir=category_dir, track=False, write_reports=False)
    return model_dir
