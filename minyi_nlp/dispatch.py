"""Dispatch: turn one appeal into ranked route suggestions (department type at a jurisdiction).

Combines the category model with the duty list, Σ_c P(c|text)·P(department|c), optionally blended
with a department model trained on derived labels, places each department at the jurisdiction
named in the text (or the city), adds the deadline from the SLA list and decides whether a human
must look at it first. The service, the batch job and the evaluation all call :class:`Dispatcher`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minyi_nlp.predict import CategoryPredictor, compose_text


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


def place_at_level(jurisdiction: Any, level: str, city: str) -> str:
    """The unit's place: the street, its district, or the city, as the duty list's level asks."""
    if level == "street" and jurisdiction.level == "street":
        return jurisdiction.full_name
    if level in ("street", "district"):
        if jurisdiction.level == "district":
            return jurisdiction.name
        if jurisdiction.level == "street" and jurisdiction.parent:
            return jurisdiction.parent
    if jurisdiction.level == "city":
        return jurisdiction.name
    return city


class Dispatcher:
    """Loaded models + lists; ``suggest`` is pure apart from reading them (thread-safe)."""

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
        """Load every model found under ``models_dir`` (category is required, the others optional)."""
        from minyi_nlp.config import get_settings

        models_dir = models_dir or get_settings().models_dir
        category = CategoryPredictor.load(models_dir / "category")
        department = appeal_type = None
        try:
            from minyi_nlp.auxiliary import load_auxiliary

            department = load_auxiliary(models_dir / "department")
            appeal_type = load_auxiliary(models_dir / "appeal_type")
        except ImportError:
            pass
        return cls(category, department_model=department, appeal_type_model=appeal_type)

    # -- the combination ------------------------------------------------------------------------
    def _departments(self, cats: list[CategoryScore], text: str, juris: Any, city: str) -> list[DepartmentScore]:
        scores: dict[tuple[str, str], float] = {}
        why: dict[tuple[str, str], list[str]] = {}
        for c in cats:
            try:
                entries = self.lists.departments_for(c.label)
            except KeyError:
                continue
            for e in entries:
                key = (e.department, e.level)
                scores[key] = scores.get(key, 0.0) + c.score * e.weight
                why.setdefault(key, []).append(f"职责清单: {c.label} ({c.score:.2f}) → {e.department}")
        if self.department_model is not None:
            blend = float(getattr(self.department_model, "blend", 0.5))
            model_scores = self.department_model.scores(text)
            level_of = {d: lvl for (d, lvl) in scores}
            merged: dict[tuple[str, str], float] = {}
            for key, s in scores.items():
                merged[key] = (1 - blend) * s
            for dept, p in model_scores.items():
                lvl = level_of.get(dept) or self._default_level(dept)
                key = (dept, lvl)
                merged[key] = merged.get(key, 0.0) + blend * p
                if p >= 0.05:
                    why.setdefault(key, []).append(f"部门模型: {p:.2f}")
            scores = merged
        total = sum(scores.values()) or 1.0
        out = []
        for (dept, level), s in sorted(scores.items(), key=lambda kv: -kv[1]):
            place = place_at_level(juris, level, city)
            reasons = list(why.get((dept, level), []))[:3]
            if juris.level != "city" or juris.source != "default":
                reasons.append(f"管辖地: 文中提到 {juris.full_name}")
            else:
                reasons.append(f"管辖地: 未提到区县, 默认 {city}")
            out.append(DepartmentScore(dept, place, level, s / total, reasons))
        return out[: self.settings.top_departments]

    def _default_level(self, department: str) -> str:
        dept = self.lists.departments.get(department)
        return (dept.level if dept is not None and dept.level else "district")

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
        ranked = self.category.rank(texts)
        types = self.appeal_type_model.predict(texts) if self.appeal_type_model is not None else None
        city = find_jurisdiction("").name
        out = []
        for i, text in enumerate(texts):
            cats = [CategoryScore(r.label, r.score) for r in ranked[i]]
            juris = find_jurisdiction(normalize_text(text))
            depts = self._departments(cats, text, juris, city)
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
