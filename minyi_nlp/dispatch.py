"""Dispatch: turn one appeal into ranked route suggestions (department type at a jurisdiction).

Combines the category model with the duty list, Σ_c P(c|text)·P(department|c), optionally blended
with a department model trained on derived labels (:mod:`minyi_nlp.department`), places each department
at the jurisdiction named in the text (or the city), adds the deadline from the SLA list, the appeal
type (:mod:`minyi_nlp.appeal_type`) and decides whether a human must look at it first. The service, the
batch job and the evaluation all call :class:`Dispatcher` / :func:`rank_departments`.

The ranking, per department type d::

    duty(d)  = Σ_c P(c|text) · P(d|c)                     (职责清单 weights, normalised per category)
    blend(d) = (1 − w) · duty(d) + w · P_model(d|text)      (w tuned on a validation part)
    score(d) = blend(d)^(1/T) / Σ_d' blend(d')^(1/T)        (temperature T fitted on the same part)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minyi_nlp.predict import CategoryPredictor, compose_text
from minyi_nlp.routing.jurisdiction import place_at_level

log = logging.getLogger(__name__)


class DispatchSettings(BaseSettings):
    """Review rules (``MINYI_REVIEW_*``): a suggestion needs review when the top category is below
    its threshold or the top-2 margin is small. Per-class thresholds as JSON, e.g.
    ``MINYI_REVIEW_THRESHOLDS='{"交通运输": 0.7}'``."""

    model_config = SettingsConfigDict(env_prefix="MINYI_REVIEW_", extra="ignore")

    min_confidence: float = Field(0.6, ge=0, le=1)
    min_margin: float = Field(0.2, ge=0, le=1)
    thresholds: dict[str, float] = {}
    top_departments: int = Field(5, ge=1)


@lru_cache(maxsize=1)
def get_dispatch_settings() -> DispatchSettings:
    return DispatchSettings()


@dataclass(frozen=True)
class CategoryScore:
    label: str
    score: float


@dataclass(frozen=True)
class DepartmentScore:
    department: str
    jurisdiction: str
    level: str
    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def route(self) -> str:
        return f"{self.jurisdiction} {self.department}"


@dataclass(frozen=True)
class Suggestion:
    model_version: str
    categories: list[CategoryScore]
    departments: list[DepartmentScore]
    appeal_type: str | None
    appeal_type_score: float | None
    due_at: datetime | None
    urgent: bool
    needs_review: bool
    review_reasons: list[str]
    keywords: list[str]
    jurisdiction: str
    jurisdiction_level: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "categories": [{"label": c.label, "score": round(c.score, 4)} for c in self.categories],
            "departments": [
                {"department": d.department, "jurisdiction": d.jurisdiction, "level": d.level,
                 "score": round(d.score, 4), "reasons": d.reasons}
                for d in self.departments
            ],
            "appeal_type": self.appeal_type,
            "appeal_type_score": None if self.appeal_type_score is None else round(self.appeal_type_score, 4),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "urgent": self.urgent,
            "needs_review": self.needs_review,
            "review_reasons": self.review_reasons,
            "keywords": self.keywords,
            "jurisdiction": self.jurisdiction,
            "jurisdiction_level": self.jurisdiction_level,
        }


# --------------------------------------------------------------------------- the ranking (pure functions)


@dataclass(frozen=True)
class RankedDepartment:
    """A department type with its combined score, its handling level and why it is there."""

    department: str
    level: str
    score: float
    reasons: tuple[str, ...] = ()


@lru_cache(maxsize=4096)
def _cached_duty(lists: Any, category: str) -> tuple[Any, ...] | None:
    try:
        return tuple(lists.departments_for(category))
    except KeyError:
        return None


def duty_entries(lists: Any, category: str) -> tuple[Any, ...] | None:
    """``lists.departments_for(category)`` (memoised per lists object: the lookup validates the key against
    the whole taxonomy each time), or None for a category the lists do not know."""
    try:
        return _cached_duty(lists, category)
    except TypeError:  # unhashable stand-in for RoutingLists
        try:
            return tuple(lists.departments_for(category))
        except KeyError:
            return None


def duty_scores(category_probs: Mapping[str, float], lists: Any) -> tuple[dict[str, float], dict[str, str]]:
    """Σ_c P(c|text)·P(d|c) per department type, and each type's level (that of its largest term).

    Categories missing from the duty list are skipped (their probability mass is lost, not spread).
    """
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, str]] = {}
    for category, p in category_probs.items():
        entries = duty_entries(lists, category)
        if entries is None:
            continue
        for e in entries:
            term = p * e.weight
            scores[e.department] = scores.get(e.department, 0.0) + term
            if term > best.get(e.department, (-1.0, ""))[0]:
                best[e.department] = (term, e.level)
    return scores, {d: lvl for d, (_, lvl) in best.items()}


def combine_scores(
    duty: Mapping[str, float],
    model: Mapping[str, float] | None = None,
    *,
    blend: float = 0.5,
    temperature: float = 1.0,
) -> dict[str, float]:
    """``(1 − blend)·duty + blend·model`` over the union of types, sharpened by ``1/temperature`` and
    normalised to sum to 1; types scoring 0 are dropped. Without a model (or with an empty duty list) the
    other side is used alone."""
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend must be in [0, 1], got {blend}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    duty_total = sum(duty.values())
    model_total = sum(model.values()) if model else 0.0
    w = blend if model_total > 0 and duty_total > 0 else (1.0 if model_total > 0 else 0.0)
    mixed: dict[str, float] = {}
    for d, s in duty.items():
        if duty_total > 0:
            mixed[d] = mixed.get(d, 0.0) + (1 - w) * s / duty_total
    for d, s in (model or {}).items():
        if model_total > 0:
            mixed[d] = mixed.get(d, 0.0) + w * s / model_total
    mixed = {d: (s if temperature == 1.0 else s ** (1.0 / temperature)) for d, s in mixed.items() if s > 0}
    total = sum(mixed.values())
    return {d: s / total for d, s in mixed.items()} if total > 0 else {}


def default_level(department: str, lists: Any) -> str:
    """The level a department type works at when the duty list does not say (departments.yaml, else district)."""
    dept = lists.departments.get(department)
    return dept.level if dept is not None and dept.level else "district"


def rank_departments(
    category_probs: Mapping[str, float],
    lists: Any,
    model_scores: Mapping[str, float] | None = None,
    *,
    blend: float = 0.5,
    temperature: float = 1.0,
    reasons: bool = True,
    top_k: int | None = None,
) -> list[RankedDepartment]:
    """Department types best first (ties by name): the duty list through the category probabilities,
    blended with the department model's scores when given. Scores are over all types (``top_k`` only cuts
    the list)."""
    duty, levels = duty_scores(category_probs, lists)
    scores = combine_scores(duty, model_scores, blend=blend, temperature=temperature)
    out = []
    for dept, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]:
        why: list[str] = []
        if reasons:
            why = _duty_reasons(dept, category_probs, lists)
            p = (model_scores or {}).get(dept, 0.0)
            if p >= 0.05:
                why.append(f"部门模型: {p:.2f}")
        out.append(RankedDepartment(dept, levels.get(dept) or default_level(dept, lists), score, tuple(why)))
    return out


def _duty_reasons(dept: str, category_probs: Mapping[str, float], lists: Any, k: int = 2) -> list[str]:
    terms = []
    for c, p in category_probs.items():
        terms += [(p * e.weight, c, p) for e in duty_entries(lists, c) or () if e.department == dept]
    return [f"职责清单: {c} ({p:.2f}) → {dept}" for _, c, p in sorted(terms, reverse=True)[:k] if p >= 0.05]


# --------------------------------------------------------------------------- the dispatcher


class Dispatcher:
    """Loaded models + lists; ``suggest`` is pure apart from reading them (thread-safe).

    ``department_model`` needs ``scores(text) -> {department: probability}`` (``scores_many`` is used when
    present), ``version``, ``blend`` and optionally ``temperature``; ``appeal_type_model`` needs
    ``predict(texts) -> [(label, score)]`` and ``version``.
    """

    def __init__(
        self,
        category: CategoryPredictor,
        *,
        department_model: Any | None = None,
        appeal_type_model: Any | None = None,
        lists: Any | None = None,
        settings: DispatchSettings | None = None,
    ) -> None:
        from minyi_nlp.routing import load_lists

        self.category = category
        self.department_model = department_model
        self.appeal_type_model = appeal_type_model
        self.lists = lists or load_lists()
        self.settings = settings or get_dispatch_settings()

    @property
    def version(self) -> str:
        parts = [self.category.version]
        for m in (self.department_model, self.appeal_type_model):
            if m is not None and getattr(m, "version", None):
                parts.append(m.version)
        parts.append(f"lists-{self.lists.version}")
        return "+".join(parts)

    @classmethod
    def load(cls, models_dir: Path | None = None) -> Dispatcher:
        """Load every model found under ``models_dir``: the category model (``MINYI_CATEGORY_MODEL``, default
        ``category/``) is required; ``department/`` and ``appeal_type/`` are optional (missing → None, logged)."""
        from minyi_nlp.appeal_type import load_appeal_type_model
        from minyi_nlp.config import get_settings
        from minyi_nlp.department import load_department_model

        settings = get_settings()
        models_dir = models_dir or settings.models_dir
        category = CategoryPredictor.load(models_dir / settings.category_model)
        department = load_department_model(models_dir / "department")
        tuned_with = getattr(department, "category_version", "")
        if tuned_with and tuned_with != category.version:
            log.warning("department blend was tuned with %s, the category model is now %s: retrain the department "
                        "model (minyi train --task department) to re-tune it", tuned_with, category.version)
        return cls(
            category,
            department_model=department,
            appeal_type_model=load_appeal_type_model(models_dir / "appeal_type"),
        )

    # -- the combination ------------------------------------------------------------------------
    def _model_scores(self, texts: list[str]) -> list[dict[str, float] | None]:
        m = self.department_model
        if m is None:
            return [None] * len(texts)
        if hasattr(m, "scores_many"):
            return list(m.scores_many(texts))
        return [m.scores(t) for t in texts]

    def _departments(
        self, cats: list[CategoryScore], model_scores: Mapping[str, float] | None, juris: Any, city: str
    ) -> list[DepartmentScore]:
        m = self.department_model
        ranked = rank_departments(
            {c.label: c.score for c in cats},
            self.lists,
            model_scores,
            blend=float(getattr(m, "blend", 0.5)) if m is not None else 0.0,
            temperature=float(getattr(m, "temperature", 1.0)) if m is not None else 1.0,
            top_k=self.settings.top_departments,
        )
        out = []
        for r in ranked:
            reasons = list(r.reasons)[:3]
            if juris.level != "city" or juris.source != "default":
                reasons.append(f"管辖地: 文中提到 {juris.full_name}")
            else:
                reasons.append(f"管辖地: 未提到区县, 默认 {city}")
            out.append(DepartmentScore(r.department, place_at_level(juris, r.level, city, r.department), r.level,
                                       r.score, reasons))
        return out

    def _default_level(self, department: str) -> str:
        return default_level(department, self.lists)

    def _review(self, cats: list[CategoryScore]) -> list[str]:
        reasons = []
        top = cats[0]
        need = self.settings.thresholds.get(top.label, self.settings.min_confidence)
        if top.score < need:
            reasons.append(f"置信度 {top.score:.2f} 低于 {top.label} 的阈值 {need:.2f}")
        if len(cats) > 1 and top.score - cats[1].score < self.settings.min_margin:
            reasons.append(f"前两类 {top.label}/{cats[1].label} 差距 {top.score - cats[1].score:.2f} "
                           f"小于 {self.settings.min_margin:.2f}")
        return reasons

    def suggest_many(
        self,
        appeals: Sequence[tuple[str | None, str]],
        *,
        received_at: datetime | None = None,
        explain: bool = True,
    ) -> list[Suggestion]:
        """Suggestions for (title, content) pairs, in order."""
        from minyi_nlp.routing import find_jurisdiction
        from minyi_nlp.text import normalize_text

        now = received_at or datetime.now()
        texts = [compose_text(t, c) for t, c in appeals]
        if not texts:
            return []
        ranked = self.category.rank(texts)
        model_scores = self._model_scores(texts)
        types = self.appeal_type_model.predict(texts) if self.appeal_type_model is not None else None
        city = find_jurisdiction("").name
        out = []
        for i, text in enumerate(texts):
            cats = [CategoryScore(r.label, r.score) for r in ranked[i]]
            juris = find_jurisdiction(normalize_text(text))
            depts = self._departments(cats, model_scores[i], juris, city)
            sla = self.lists.sla_for(cats[0].label)
            review = self._review(cats)
            keywords = [w for w, _ in self.category.explain(text, cats[0].label, k=5)] if explain else []
            out.append(
                Suggestion(
                    model_version=self.version,
                    categories=cats,
                    departments=depts,
                    appeal_type=types[i][0] if types else None,
                    appeal_type_score=types[i][1] if types else None,
                    due_at=self.lists.add_working_days(now, sla.working_days),
                    urgent=sla.urgent,
                    needs_review=bool(review),
                    review_reasons=review,
                    keywords=keywords,
                    jurisdiction=juris.full_name,
                    jurisdiction_level=juris.level,
                )
            )
        return out

    def suggest(self, title: str | None, content: str, *, received_at: datetime | None = None) -> Suggestion:
        return self.suggest_many([(title, content)], received_at=received_at)[0]


def ensure_dispatch_models(models_dir: Path | None = None) -> dict[str, Path]:
    """Train whichever of the category, department and appeal-type models is missing under ``models_dir``
    (default parameters, no MLflow; the service calls this at start-up, like ``ensure_category_model``).
    Returns the three model directories."""
    from minyi_nlp.appeal_type import ensure_appeal_type_model
    from minyi_nlp.config import get_settings
    from minyi_nlp.department import ensure_department_model
    from minyi_nlp.train import ensure_category_model

    settings = get_settings()
    models_dir = models_dir or settings.models_dir
    category = ensure_category_model(models_dir / settings.category_model)
    return {
        "category": category,
        "department": ensure_department_model(models_dir / "department", category_dir=category),
        "appeal_type": ensure_appeal_type_model(models_dir / "appeal_type"),
    }
