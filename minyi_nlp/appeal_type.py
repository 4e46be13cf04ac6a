"""Appeal type (诉求性质): 投诉 / 咨询 / 建议 / 举报 / 求助, trained on the Fuzhou 12345 work orders.

The only data with this label is Fuzhou's river work orders (1,464 rows, 81 % 投诉, 4 求助), one topic.
The classifier is the project's :class:`~minyi_nlp.classifier.AppealClassifier` with balanced class
weights. Because the citizen often names the type ("请问…", "建议…", "举报…", "求助…") and transfer from
rivers to other topics is unproven, explicit keyword rules (:data:`KEYWORD_RULES`) are mixed in::

    P(type | text) = (1 − α) · P_model(type | text) + α · q(type | text)

where ``q`` is uniform over the types whose rule fires (no rule fires → the model alone). With the
default ``α = 0.5`` (``keyword_weight``) a single fired rule always decides the top type — the citizen's
own word wins — and the model ranks the rest and decides when no rule (or several) fire. That is a product
decision, not a fit: on out-of-fold predictions of the Fuzhou training part macro-F1 is flat from 0.4 to
0.8 and accuracy is best at 0.3–0.4, because in Fuzhou most texts that say 举报 are labelled 投诉 (62 of
66). ``keyword_weight: null`` picks the out-of-fold best instead, ``0`` switches the rules off. Both
variants, and that curve, are in ``reports/appeal_type_eval.json``.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from minyi_nlp.params import TrainParams
from minyi_nlp.train import TrainResult
from minyi_nlp.train import build_classifier as build_category_classifier

log = logging.getLogger(__name__)

KIND = "appeal_type"
KEYWORDS_FILE = "keywords.json"
EXPERIMENT = "minyi-appeal-type"
LABELS = ("投诉", "咨询", "建议", "举报", "求助")

# (type, regex on the normalised text): explicit wording of the type, not topic words (偷排/违法 are what a
# complaint is about, not whether it is a report). Written from the usual wording of 12345 appeals.
KEYWORD_RULES: tuple[tuple[str, str], ...] = (
    ("咨询", r"请问|咨询|想了解|想知道|如何办理|怎么办理|怎样办理|怎么(?:转移|申请|查询|领取|缴纳|报销|补办)"
     r"|需要(?:哪些|什么)(?:材料|手续)"),
    ("建议", r"(?:^|[\s。，,！!；;])建议|我建议|提议|倡议"),
    ("举报", r"举报"),
    ("求助", r"求助|求救|走投无路"),
    ("投诉", r"投诉"),
)
WEIGHT_GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


class AppealTypeParams(BaseModel):
    """``params.yaml`` section ``appeal_type``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 42
    test_share: float = Field(0.2, gt=0, lt=0.5)
    cv_folds: int = Field(4, ge=0)  # folds of the training part for the keyword-weight curve (0: skip)
    keyword_weight: float | None = Field(0.5, ge=0, le=1)  # None: the out-of-fold best; 0: rules off
    # sigmoid: isotonic steps are degenerate for a class with 3 training rows (求助); held-out figures are
    # within a point of each other either way
    model: TrainParams = TrainParams(class_weight="balanced", C=0.5, calibration="sigmoid", calibration_cv=5)


def load_appeal_type_params(path: Path | None = None) -> AppealTypeParams:
    """The ``appeal_type`` section of ``params.yaml`` (defaults when absent)."""
    from minyi_nlp.department import _params_section

    return AppealTypeParams.model_validate(_params_section("appeal_type", path))


# --------------------------------------------------------------------------- keyword rules


def keyword_types(text: str, rules: Sequence[tuple[str, str]] = KEYWORD_RULES) -> list[str]:
    """Types whose rule matches the normalised ``text``, in rule order."""
    from minyi_nlp.text import normalize_text

    norm = normalize_text(text or "")
    return [label for label, pattern in rules if re.search(pattern, norm)]


def apply_keywords(
    proba: np.ndarray,
    labels: Sequence[str],
    texts: Sequence[str],
    weight: float,
    rules: Sequence[tuple[str, str]] = KEYWORD_RULES,
) -> np.ndarray:
    """``(1 − weight)·proba + weight·q`` per row, ``q`` uniform over the fired types (rows with none unchanged)."""
    out = np.array(proba, dtype=float, copy=True)
    if weight <= 0:
        return out
    index = {lab: j for j, lab in enumerate(labels)}
    for i, text in enumerate(texts):
        fired = [index[t] for t in keyword_types(text, rules) if t in index]
        if fired:
            q = np.zeros(len(labels))
            q[fired] = 1.0 / len(fired)
            out[i] = (1 - weight) * out[i] + weight * q
    return out


# --------------------------------------------------------------------------- the loaded model


@dataclass
class AppealTypeModel:
    """A loaded appeal-type model; ``predict`` gives (label, probability) per text."""

    classifier: Any
    keyword_weight: float = 0.0
    version: str = ""
    manifest: Mapping[str, Any] | None = None
    path: Path | None = None
    rules: tuple[tuple[str, str], ...] = field(default=KEYWORD_RULES)

    @property
    def labels(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        proba = self.classifier.predict_proba(list(texts))
        return apply_keywords(proba, self.labels, texts, self.keyword_weight, self.rules)

    def predict(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        proba = self.predict_proba(texts)
        labels = self.labels
        return [(labels[int(np.argmax(row))], float(np.max(row))) for row in proba]

    @classmethod
    def load(cls, model_dir: Path) -> AppealTypeModel:
        """Load and hash-verify ``model_dir`` (raises ``ModelNotFoundError`` when absent)."""
        from minyi_nlp.artifacts import load_model

        loaded = load_model(model_dir)
        kw = json.loads((Path(model_dir) / KEYWORDS_FILE).read_text(encoding="utf-8"))
        rules = tuple((str(r[0]), str(r[1])) for r in kw["rules"])
        return cls(loaded.model, float(kw["weight"]), loaded.version, loaded.manifest, Path(model_dir), rules)


def load_appeal_type_model(model_dir: Path) -> AppealTypeModel | None:
    """The model in ``model_dir``, or None (logged) when there is none."""
    from minyi_nlp.artifacts import ModelNotFoundError

    try:
        return AppealTypeModel.load(model_dir)
    except ModelNotFoundError:
        log.info("no appeal-type model at %s: suggestions carry no appeal type (minyi train --task appeal-type)",
                 model_dir)
        return None


# --------------------------------------------------------------------------- data and training


def appeal_type_dataset(params: AppealTypeParams | None = None, **kwargs: Any) -> tuple[pd.DataFrame, dict]:
    """Fuzhou work orders with an appeal type, near-duplicates collapsed, with a stratified ``split``."""
    from minyi_nlp.data import load_source
    from minyi_nlp.department import assign_split, deduplicate
    from minyi_nlp.predict import compose_text

    params = params or AppealTypeParams()
    frame = load_source("fuzhou_river", **kwargs).frame
    frame = frame[frame["appeal_type"].isin(LABELS)]
    data = pd.DataFrame({
        "id": [f"fuzhou_river:{i}" for i in frame["id"]],
        "text": [compose_text(t, c) for t, c in zip(frame["title"], frame["content"], strict=True)],
        "label": frame["appeal_type"].astype(str).to_numpy(),
    })
    data, dedup = deduplicate(data, same_kind_cosine=0.95, label_col="label")
    data["split"] = assign_split(data["label"], seed=params.seed, val_share=0.0, test_share=params.test_share)
    report = {"dedup": dedup, "labels": {k: int(v) for k, v in data["label"].value_counts().items()},
              "split": {k: int(v) for k, v in data["split"].value_counts().items()}}
    return data, report


def build_classifier(train: TrainParams, labels: Sequence[str]) -> Any:
    """AppealClassifier; calibration folds capped by the rarest class (求助 has a handful of rows)."""
    rarest = int(pd.Series(list(labels)).value_counts().min())
    folds = max(2, min(train.calibration_cv, rarest))
    if folds < train.calibration_cv:
        log.info("calibration folds %d → %d (rarest class has %d rows)", train.calibration_cv, folds, rarest)
    return build_category_classifier(train.model_copy(update={"calibration_cv": folds}))


def type_report(y_true: Sequence[str], proba: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """macro-F1, accuracy, per-class P/R/F1 (:func:`minyi_nlp.metrics.classification_report`)."""
    from minyi_nlp.metrics import classification_report

    return classification_report(list(y_true), proba, list(labels))


def out_of_fold(texts: Sequence[str], y: Sequence[str], params: AppealTypeParams) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold model probabilities (stratified ``cv_folds``, capped by the rarest class) and their labels."""
    from sklearn.model_selection import StratifiedKFold

    y_arr = np.asarray(list(y), dtype=object)
    labels = sorted(set(y_arr))
    folds = max(2, min(params.cv_folds, int(pd.Series(y_arr).value_counts().min())))
    proba = np.zeros((len(y_arr), len(labels)))
    for tr, te in StratifiedKFold(n_splits=folds, shuffle=True, random_state=params.seed).split(texts, y_arr):
        clf = build_classifier(params.model, y_arr[tr]).fit([texts[i] for i in tr], y_arr[tr])
        order = [list(clf.classes_).index(lab) for lab in labels]
        proba[te] = clf.predict_proba([texts[i] for i in te])[:, order]
    return proba, labels


def tune_keyword_weight(texts: Sequence[str], y: Sequence[str], params: AppealTypeParams) -> dict[str, Any]:
    """``keyword_weight`` maximising out-of-fold macro-F1 on these (training) rows; ties → the smaller weight."""
    proba, labels = out_of_fold(texts, y, params)
    curve = []
    for w in WEIGHT_GRID:
        r = type_report(y, apply_keywords(proba, labels, texts, w), labels)
        curve.append({"weight": w, "macro_f1": round(r["macro_f1"], 4), "accuracy": round(r["accuracy"], 4)})
    best = max(curve, key=lambda c: (c["macro_f1"], -c["weight"]))
    return {"weight": best["weight"], "objective": "max out-of-fold macro-F1 on the training part (ties: smaller)",
            "n": len(texts), "curve": curve}


def save_appeal_type_model(
    model: AppealTypeModel, model_dir: Path, *, data_hash: str, params: dict[str, Any],
    metrics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the classifier and ``keywords.json`` (weight, rules) with a manifest."""
    from minyi_nlp.artifacts import save_model

    with tempfile.TemporaryDirectory() as tmp:
        kw_path = Path(tmp) / KEYWORDS_FILE
        kw_path.write_text(json.dumps({"weight": model.keyword_weight, "rules": [list(r) for r in model.rules]},
                                      ensure_ascii=False, indent=1), encoding="utf-8")
        return save_model(model.classifier, model_dir, kind=KIND, data_hash=data_hash, labels=model.labels,
                          params=params, metrics=metrics or {}, extra_files={KEYWORDS_FILE: kw_path})


def _public(report: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in report.items() if k not in ("reliability",)}
    f1 = [v["f1"] for k, v in report["per_class"].items() if k != "求助"]
    out["macro_f1_without_求助"] = float(np.mean(f1)) if f1 else None  # 求助: 1 held-out row
    return out


def train_appeal_type(
    params: AppealTypeParams | None = None,
    *,
    model_dir: Path | None = None,
    reports_dir: Path | None = None,
    track: bool = True,
    write_reports: bool = True,
) -> TrainResult:
    """Fit on the training part (choosing the keyword weight by cross-validation inside it), evaluate on the
    held-out part (model alone and with keyword rules, plus the behavioural examples), refit on all rows,
    save to ``models/appeal_type`` and log to MLflow. The saved model has seen the held-out rows: the
    figures come from the fit without them."""
    from minyi_nlp.artifacts import MODEL_FILE, sha256_frame_text
    from minyi_nlp.config import get_settings

    settings = get_settings()
    params = params or load_appeal_type_params()
    model_dir = model_dir or settings.models_dir / KIND
    reports_dir = reports_dir or settings.reports_dir
    data, data_report = appeal_type_dataset(params)
    train, test = data[data["split"] == "train"], data[data["split"] == "test"]

    tuning = None
    if params.cv_folds >= 2 or params.keyword_weight is None:
        tuning = tune_keyword_weight(train["text"].tolist(), train["label"].tolist(), params)
    weight = params.keyword_weight if params.keyword_weight is not None else tuning["weight"]  # type: ignore[index]
    log.info("keyword weight %.2f (%s)", weight, "params" if params.keyword_weight is not None else "out-of-fold")
    clf = build_classifier(params.model, train["label"]).fit(train["text"].tolist(), train["label"].tolist())
    labels = [str(c) for c in clf.classes_]
    proba = clf.predict_proba(test["text"].tolist())
    with_rules = apply_keywords(proba, labels, test["text"].tolist(), weight)
    metrics: dict[str, Any] = {
        "n": len(test),
        "keyword_weight": weight,
        "held_out": {
            "model": _public(type_report(test["label"], proba, labels)),
            "model_with_keywords": _public(type_report(test["label"], with_rules, labels)),
        },
        "tuning": tuning,
        "data": data_report,
        "note": "Fuzhou 12345 river work orders only (one topic): figures say how well the type is separated "
                "inside that topic; transfer to other topics is unproven (see behavioural). 求助 has 4 rows in "
                "all (1 held out): its figures are anecdotes.",
    }

    texts, ys = data["text"].tolist(), data["label"].tolist()
    t0 = time.perf_counter()
    final = build_classifier(params.model, ys).fit(texts, ys)
    metrics["train_seconds"] = round(time.perf_counter() - t0, 2)
    metrics["n_train"] = len(texts)
    model = AppealTypeModel(final, weight)
    metrics["behavioural"] = behavioural_check(model, AppealTypeModel(final, 0.0))
    head = metrics["held_out"]["model_with_keywords"]
    metrics.update({"macro_f1": head["macro_f1"], "accuracy": head["accuracy"], "per_class": head["per_class"]})

    manifest = save_appeal_type_model(
        model, model_dir, data_hash=sha256_frame_text(texts + ys), params=params.model_dump(),
        metrics={"macro_f1": head["macro_f1"], "accuracy": head["accuracy"], "n_test": len(test),
                 "keyword_weight": weight},
    )
    data_hash = manifest["training_data_sha256"]
    metrics["model_version"] = manifest["version"]
    metrics["model_mb"] = round((model_dir / MODEL_FILE).stat().st_size / 2**20, 2)
    plots = write_appeal_type_report(metrics, reports_dir) if write_reports else []
    tracking = None
    if track:
        from minyi_nlp.department import log_extra_metrics
        from minyi_nlp.tracking import log_training_run

        tracking = log_training_run(
            params={**{k: v for k, v in params.model_dump().items() if k != "model"},
                    **{f"model.{k}": v for k, v in params.model.model_dump().items()}, "keyword_weight": weight},
            metrics={**head, "n": len(test), "train_seconds": metrics["train_seconds"],
                     "model_mb": metrics["model_mb"]},
            plots=plots, model_dir=model_dir,
            tags={"minyi.version": manifest["version"], "training_data_sha256": data_hash},
            experiment=EXPERIMENT, registered_model=EXPERIMENT,
        )
        bare = metrics["held_out"]["model"]
        log_extra_metrics(tracking["run_id"], {"model_only.macro_f1": bare["macro_f1"],
                                               "model_only.accuracy": bare["accuracy"],
                                               "behavioural.passed": metrics["behavioural"]["passed"]})
    return TrainResult(model_dir=model_dir, manifest=manifest, metrics=metrics, tracking=tracking)


# General (non-river) appeals with an obvious type: the transfer check reported with the figures.
BEHAVIOURAL: tuple[tuple[str, str], ...] = (
    ("请问社保怎么转移", "咨询"),
    ("请问办理居住证需要哪些材料？", "咨询"),
    ("举报某饭店偷排污水", "举报"),
    ("举报小区旁边有黑作坊无证经营", "举报"),
    ("建议在路口增设红绿灯", "建议"),
    ("建议地铁末班车延长到晚上十一点", "建议"),
    ("楼下烧烤店每天营业到凌晨两点，噪音扰民严重，多次反映无人处理", "投诉"),
    ("物业乱收停车费，态度恶劣，投诉物业公司", "投诉"),
    ("老人走失三天了，家里人走投无路，求助帮忙寻找", "求助"),
)


def behavioural_check(model: AppealTypeModel, model_only: AppealTypeModel | None = None) -> dict[str, Any]:
    """How many of :data:`BEHAVIOURAL` get the expected type (with keyword rules, and the bare model if given)."""
    texts = [t for t, _ in BEHAVIOURAL]
    out: dict[str, Any] = {}
    for name, m in (("with_keywords", model), ("model_only", model_only)):
        if m is None:
            continue
        pred = m.predict(texts)
        out[name] = [{"text": t, "expected": y, "predicted": p, "score": round(s, 3)}
                     for (t, y), (p, s) in zip(BEHAVIOURAL, pred, strict=True)]
    out["passed"] = sum(r["predicted"] == r["expected"] for r in out["with_keywords"])
    if "model_only" in out:
        out["passed_model_only"] = sum(r["predicted"] == r["expected"] for r in out["model_only"])
    out["n"] = len(BEHAVIOURAL)
    return out


def write_appeal_type_report(metrics: Mapping[str, Any], reports_dir: Path) -> list[Path]:
    """``appeal_type_eval.json`` and the per-class F1 / confusion plots of the shipped variant."""
    from minyi_nlp.plots import plot_confusion, plot_per_class_f1

    reports_dir.mkdir(parents=True, exist_ok=True)
    (reports_dir / "appeal_type_eval.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=2) + "\n",
                                                        encoding="utf-8")
    head = metrics["held_out"]["model_with_keywords"]
    plots_dir = reports_dir / "plots"
    return [
        plot_per_class_f1(head["per_class"], plots_dir / "appeal_type_per_class_f1.png"),
        plot_confusion(np.asarray(head["confusion_matrix"]), head["labels"], plots_dir / "appeal_type_confusion.png",
                       title="Appeal type (held-out Fuzhou)"),
    ]


def ensure_appeal_type_model(model_dir: Path | None = None) -> Path:
    """Return the appeal-type model directory, training one (no MLflow, no reports) when there is none."""
    from minyi_nlp.artifacts import read_manifest
    from minyi_nlp.config import get_settings

    model_dir = model_dir or get_settings().models_dir / KIND
    try:
        read_manifest(model_dir)
    except FileNotFoundError:
        log.warning("no appeal-type model at %s: training one now (under a minute)", model_dir)
        train_appeal_type(model_dir=model_dir, track=False, write_reports=False)
    return model_dir
