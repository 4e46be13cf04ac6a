"""Typed views of ``params.yaml``: one section per pipeline stage, one sub-section per head."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from minyi_nlp.config import PROJECT_DIR

HEAD_NAMES = ("category", "department", "appeal_type", "subcategory")


class PrepareParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_folds: int = Field(5, ge=2)
    eval_fold: int = Field(0, ge=0)
    seed: int = 42
    containment: float = Field(0.85, gt=0, le=1)
    coverage: float = Field(0.10, ge=0, le=1)
    same_kind_cosine: float = Field(0.95, gt=0, le=1)
    train_copies: Literal["one", "all"] = "one"


class EncoderParams(BaseModel):
    """``encoder``: the one featuriser every head reads (see :mod:`minyi_nlp.models.encoder`)."""

    model_config = ConfigDict(extra="forbid")
    segmenter: Literal["jieba", "rjieba"] = "rjieba"
    user_dict: bool = True
    stopwords: bool = True
    word_ngram_max: int = Field(2, ge=1, le=2)
    char_ngram_min: int = Field(1, ge=1, le=3)
    char_ngram_max: int = Field(3, ge=1, le=3)
    min_df: int = Field(2, ge=1)
    max_features: int | None = Field(400_000, ge=1)  # per block (words, chars), as TfidfVectorizer's
    max_chars: int = Field(3000, ge=0)  # longer texts keep their head and tail
    head_chars: int = Field(40, ge=0)  # the title again as its own block (0: none)
    head_weight: float = Field(1.0, gt=0)
    embed_dim: int = Field(256, ge=8, le=4096)  # dense projection for similar appeals and grouping
    embed_seed: int = 0


class HeadParams(BaseModel):
    """``heads.<name>.model``: the calibrated linear model of a head (see :mod:`minyi_nlp.models.heads`)."""

    model_config = ConfigDict(extra="forbid")
    linear: Literal["svm", "logreg"] = "svm"
    C: float = Field(0.5, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    calibration: Literal["isotonic", "sigmoid", "temperature"] = "isotonic"
    calibration_cv: int = Field(5, ge=2)  # capped by the rarest label's count
    ensemble: bool = True  # isotonic/sigmoid: one model per calibration fold, averaged (False: one model on all
    #                        rows, calibrated on the folds' out-of-fold scores: 1/folds of the weights to store)
    n_jobs: int | None = None
    random_state: int = 0
    max_weights: int | None = Field(None, ge=1)  # tree heads: keep the largest |weights| per class (sparse)
    weights: Literal["float32", "int8"] = "float32"  # int8: each feature's row quantised with its own scale
    #                                                  (¼ of the memory; scores within ~1e-3, see models/heads.py)


class KeywordParams(BaseModel):
    """``heads.<name>.keywords``: explicit wording that names a label, mixed into the head's output."""

    model_config = ConfigDict(extra="forbid")
    file: str  # resources/keywords/<file>.yaml: rules (label, regex); departments: the lists' department names
    weight: float | None = Field(0.5, ge=0, le=1)  # None: the out-of-fold best on the training part
    cv_folds: int = Field(4, ge=2)  # folds of the out-of-fold weight curve


class StackParams(BaseModel):
    """``heads.urgency.hazards.stack``: a logistic regression over the head's P and the lexicon's verdict
    (:mod:`minyi_nlp.dispatch.urgency_stack`), fitted on the head's TRAINING rows with the head's P cross-fitted
    (``folds``); ``C`` is chosen among ``C`` by cross-validated average precision on those rows."""

    model_config = ConfigDict(extra="forbid")
    C: list[float] = [0.03, 0.1, 0.3, 1.0]
    class_weight: Literal["balanced"] | None = "balanced"
    folds: int = Field(5, ge=2)


class HazardMixParams(BaseModel):
    """``heads.<name>.hazards``: a binary head's P(urgent) mixed with the hazard lexicon's score as
    ``(1 − w)·P + w·lexicon``; the weight ``w`` (one of ``weights``) and the flag threshold are chosen on the
    hand-labelled urgency set for ``target_recall`` (out of fold for the reported figures)."""

    model_config = ConfigDict(extra="forbid")
    weights: list[float] = [0.0, 0.25, 0.5, 0.75, 1.0]
    target_recall: float = Field(0.95, gt=0, le=1)
    target_precision: float = Field(0.7, gt=0, le=1)
    folds: int = Field(5, ge=2)  # folds of the out-of-fold choice of weight and threshold
    stack: StackParams | None = None  # a second stage over head and lexicon features replaces the mix


class HeadSection(BaseModel):
    """``heads.<name>``: model, label filter, keyword rules and the task's data parameters."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["linear", "tree"] = "linear"  # tree: labels are paths, one model per parent node
    model: HeadParams = HeadParams()
    min_rows: int = Field(1, ge=1)  # labels with fewer training rows are not targets of the head
    blocks: list[Literal["words", "chars", "head"]] | None = None  # encoder blocks the head reads (None: all)
    keywords: KeywordParams | None = None
    encoder_corpus: bool = True  # the head's training texts also fit the shared vocabulary and IDF
    hazards: HazardMixParams | None = None  # the urgency head: mixed with the hazard lexicon (dispatch.urgency)
    data: dict[str, Any] = {}  # validated by the task (minyi_nlp.data.tasks)

    @model_validator(mode="after")
    def _kind_fits_model(self) -> HeadSection:
        if self.kind == "linear" and self.model.max_weights is not None:
            raise ValueError("model.max_weights applies to tree heads only (kind: tree)")
        if self.kind == "tree" and (self.model.calibration != "temperature" or self.keywords is not None):
            raise ValueError("a tree head is calibrated by temperature and has no keyword rules")
        return self


def _default_heads() -> dict[str, HeadSection]:
    return {
        "category": HeadSection(model=HeadParams(calibration_cv=10)),
        "department": HeadSection(model=HeadParams(calibration_cv=3), min_rows=8),
        "appeal_type": HeadSection(model=HeadParams(calibration="sigmoid"),
                                   keywords=KeywordParams(file="appeal_type")),
    }


class RoutingParams(BaseModel):
    """``routing``: how the department head is blended with the duty list (tuned on the validation part)."""

    model_config = ConfigDict(extra="forbid")
    blend_grid: int = Field(20, ge=2)
    # duty list and SLA read the finest predicted sub-category whose probability reaches this, else its parent
    subcategory_threshold: float = Field(0.5, gt=0, le=1)


class EvaluateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_bins: int = Field(10, ge=2)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prepare: PrepareParams = PrepareParams()
    encoder: EncoderParams = EncoderParams()
    heads: dict[str, HeadSection] = Field(default_factory=_default_heads)
    routing: RoutingParams = RoutingParams()
    evaluate: EvaluateParams = EvaluateParams()
    transformer: dict[str, Any] = {}  # validated by TransformerClassifier (bench/ experiments)


def load_params(path: Path | None = None) -> Params:
    """Read ``params.yaml`` (defaults when the file is absent); unknown keys are an error."""
    path = path or PROJECT_DIR / "params.yaml"
    data: dict[str, Any] = {}
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Params.model_validate(data)


def with_overrides(params: Params, pairs: list[str]) -> Params:
    """``params`` with ``KEY=VALUE`` overrides, values read as YAML and validated like params.yaml.

    Keys: a dotted path (``encoder.min_df``, ``heads.department.model.C``, ``prepare.train_copies``), or a
    bare key of the category head's model (``C``, ``calibration``) or of the encoder (``max_features``).
    """
    data = params.model_dump()
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE, got {pair!r}")
        path = key.split(".")
        if len(path) == 1:
            if key in HeadParams.model_fields:
                path = ["heads", "category", "model", key]
            elif key in EncoderParams.model_fields:
                path = ["encoder", key]
            else:
                raise ValueError(f"--set {key}: not a key of the category head's model or of the encoder; "
                                 f"use a dotted path such as heads.department.model.C")
        node = data
        for part in path[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"--set {key}: no section {part!r} in params.yaml")
            node = node[part]
        node[path[-1]] = yaml.safe_load(value)
    return Params.model_validate(data)
