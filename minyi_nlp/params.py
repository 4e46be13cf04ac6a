"""Typed views of ``params.yaml`` (one section per pipeline stage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from minyi_nlp.config import PROJECT_DIR


class PrepareParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_folds: int = Field(5, ge=2)
    eval_fold: int = Field(0, ge=0)
    seed: int = 42
    containment: float = Field(0.85, gt=0, le=1)
    coverage: float = Field(0.10, ge=0, le=1)
    same_kind_cosine: float = Field(0.95, gt=0, le=1)
    train_copies: Literal["one", "all"] = "one"


class TrainParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segmenter: str = "rjieba"
    word_ngram_max: int = Field(2, ge=1, le=3)
    char_ngram_min: int = Field(1, ge=1)
    char_ngram_max: int = Field(3, ge=1, le=5)
    min_df: int = Field(2, ge=1)
    max_features: int | None = 400_000
    linear: Literal["svm", "logreg"] = "svm"
    C: float = Field(0.5, gt=0)
    class_weight: Literal["balanced"] | None = "balanced"
    calibration: Literal["isotonic", "sigmoid", "temperature"] = "isotonic"
    calibration_cv: int = Field(5, ge=2)
    max_chars: int = Field(3000, ge=0)
    head_chars: int = Field(0, ge=0)
    head_weight: float = Field(1.0, gt=0)
    user_dict: bool = True
    stopwords: bool = True
    n_jobs: int | None = None
    random_state: int = 0


class EvaluateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_bins: int = Field(10, ge=2)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prepare: PrepareParams = PrepareParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    # validated by DepartmentParams / AppealTypeParams / TransformerClassifier when those models are trained
    department: dict[str, Any] = {}
    appeal_type: dict[str, Any] = {}
    transformer: dict[str, Any] = {}


def load_params(path: Path | None = None) -> Params:
    """Read ``params.yaml`` (defaults when the file is absent); unknown keys are an error."""
    path = path or PROJECT_DIR / "params.yaml"
    data: dict[str, Any] = {}
    if path.exists():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return Params.model_validate(data)
