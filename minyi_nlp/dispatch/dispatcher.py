"""The dispatcher: one appeal → ranked route suggestions (department type at a jurisdiction).

Each appeal is encoded once by the bundle's encoder; the category, sub-category, department and
appeal-type heads read that one vector, and the keywords that explain the top category come from the same
row. Around the heads: the duty list (:func:`~minyi_nlp.dispatch.ranking.rank_departments`) and the SLA
list read with the finest sub-category key the head is sure enough of
(:mod:`~minyi_nlp.dispatch.subcategory`), the jurisdiction named in the text, the urgency flag (the urgency
head mixed with the hazard lexicon, :mod:`minyi_nlp.dispatch.urgency`), the deadline (in hours when
urgent), and the review rules that decide whether a human must look first (always for an urgent appeal).
The service, the batch job, ``minyi predict`` and the evaluation all call :class:`Dispatcher`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minyi_nlp.dispatch.ranking import RankedDepartment, place_at_level, rank_departments_many
from minyi_nlp.dispatch.subcategory import SubcategoryReading, read_subcategories
from minyi_nlp.dispatch.urgency import Urgency, UrgencyScorer
from minyi_nlp.models.bundle import Bundle

log = logging.getLogger(__name__)

ROUTING_EXTRA = "dispatch"  # the bundle's dispatch.json: blend and temperature tuned for its heads


class DispatchSettings(BaseSettings):
    """Review rules (``MINYI_REVIEW_*``): a suggestion needs review when the top category is below
    its threshold or the top-2 margin is small. Per-class thresholds as JSON, e.g.
    ``MINYI_REVIEW_THRESHOLDS='{"交通运输": 0.7}'``."""

    model_config = SettingsConfigDict(env_prefix="MINYI_REVIEW_", extra="ignore")

    min_confidence: float = Field(0.6, ge=0, le=1)
    min_margin: float = Field(0.2, ge=0, le=1)
    thresholds: dict[str, float] = {}
    top_departments: int = Field(5, ge=1)
    top_subcategories: int = Field(5, ge=1)


@lru_cache(maxsize=1)
def get_dispatch_settings() -> DispatchSettings:
    return DispatchSettings()


@dataclass(slots=True)  # not frozen: a frozen dataclass is built 3 × slower (many per appeal)
class CategoryScore:
    label: str
    score: float


@dataclass(slots=True)
class SubcategoryScore:
    path: str  # 一级/二级[/三级] of taxonomy.yaml
    score: float


@dataclass(slots=True)
class DepartmentScore:
    department: str
    jurisdiction: str
    level: str
    score: float
    reasons: list[str] = field(default_factory=list)

    @property
    def route(self) -> str:
        return f"{self.jurisdiction} {self.department}"


@dataclass(slots=True)
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
    urgency: Urgency | None = None  # score, hazard kinds and words (dispatch.urgency)
    subcategories: list[SubcategoryScore] = field(default_factory=list)
    due_reason: str | None = None  # which list key set the deadline, in plain Chinese
    masked: tuple[str | None, str] | None = field(default=None, compare=False, repr=False)  # stored, not sent

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "categories": [{"label": c.label, "score": round(c.score, 4)} for c in self.categories],
            "subcategories": [{"path": c.path, "score": round(c.score, 4)} for c in self.subcategories],
            "departments": [
                {"department": d.department, "jurisdiction": d.jurisdiction, "level": d.level,
                 "score": round(d.score, 4), "reasons": d.reasons}
                for d in self.departments
            ],
            "appeal_type": self.appeal_type,
            "appeal_type_score": None if self.appeal_type_score is None else round(self.appeal_type_score, 4),
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "due_reason": self.due_reason,
            "urgent": self.urgent,
            "needs_review": self.needs_review,
            "review_reasons": self.review_reasons,
            "keywords": self.keywords,
            "jurisdiction": self.jurisdiction,
            "jurisdiction_level": self.jurisdiction_level,
            "urgency": self.urgency.as_dict() if self.urgency is not None else None,
        }


@dataclass(frozen=True)
class Routing:
    """How the department head is blended with the duty list, and how sure the sub-category head must be
    for its key to be the one the duty and SLA lists are read with (``dispatch.json`` of a bundle)."""

    blend: float = 0.0
    temperature: float = 1.0
    subcategory_threshold: float = 0.5

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any] | None) -> Routing:
        if not extra:
            return cls()
        return cls(float(extra.get("blend", 0.0)), float(extra.get("temperature", 1.0)),
                   float(extra.get("subcategory_threshold", 0.5)))


class Dispatcher:
    """A loaded bundle + the lists; ``suggest_many`` is pure apart from reading them (thread-safe)."""

    def __init__(self, bundle: Bundle, *, lists: Any | None = None, settings: DispatchSettings | None = None) -> None:
        from minyi_nlp.routing import load_lists
        from minyi_nlp.routing.hazards import load_hazards
        from minyi_nlp.routing.jurisdiction import load_gazetteer

        self.bundle = bundle
        self.lists = lists or load_lists()
        self.gazetteer = load_gazetteer(self.lists.directory)
        self.settings = settings or get_dispatch_settings()
        self.routing = Routing.from_extra(bundle.extras.get(ROUTING_EXTRA))
        self.category_labels = bundle.head("category").labels
        self.urgency = UrgencyScorer(bundle, load_hazards(self.lists.directory))  # the lists' own folder
        self.urgency.lexicon.check_responders(self.lists.departments)

    @property
    def version(self) -> str:
        """The bundle's version and every list it reads (a stored suggestion says what made it)."""
        return (f"{self.bundle.version}+lists-{self.lists.version}+places@{self.gazetteer.version}"
                f"+hazards@{self.urgency.lexicon.version}")

    @classmethod
    def load(cls, bundle_dir: Path | None = None) -> Dispatcher:
        """The served bundle (or ``bundle_dir``), hash-verified, with the lists as configured."""
        from minyi_nlp.models.bundle import load_bundle
        from minyi_nlp.models.registry import served_bundle_dir

        return cls(load_bundle(bundle_dir or served_bundle_dir()))

    # -- the heads --------------------------------------------------------------------------------------
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 unit vectors of raw texts (the encoder's projection), for similar-appeal search."""
        X, _ = self.bundle.encode(list(texts))
        return self.bundle.encoder.embed(X)

    def category_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(category | text), columns in :attr:`category_labels` order."""
        X, _ = self.bundle.encode(list(texts))
        return self.bundle.predict_proba("category", X)

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

    def _departments(self, ranked: list[RankedDepartment], juris: Any, city: str, reasons: bool = True
                     ) -> list[DepartmentScore]:
        if not reasons:
            where = []
        elif juris.level != "city" or juris.source != "default":
            where = [f"管辖地: 文中提到 {juris.full_name}"]
        else:
            where = [f"管辖地: 未提到区县, 默认 {city}"]
        return [DepartmentScore(r.department, place_at_level(juris, r.level, city, r.department), r.level, r.score,
                                [*r.reasons[:3], *where]) for r in ranked]

    def _list_keys(self, cats: list[CategoryScore], sub: SubcategoryReading | None
                   ) -> tuple[dict[str, float], dict[str, float] | None, str, float]:
        """(duty-list probabilities, the probability each key shows, SLA key, its probability): the decided
        sub-category keys when the bundle has that head, else the category head's labels."""
        if sub is None:
            return {c.label: c.score for c in cats}, None, cats[0].label, cats[0].score
        probs, shown = sub.duty_probs()
        return probs, shown, sub.decided.key, sub.decided.score

    @staticmethod
    def _flag_urgent(urgency: Urgency, review: list[str]) -> bool:
        """Whether the appeal is urgent; an urgent one goes to a person first, the review reason naming the hazard."""
        if urgency.urgent:
            review.insert(0, urgency.reason)
        return urgency.urgent

    def _urgent_deadline(self, key: str, score: float, now: datetime, urgency: Urgency, review: list[str],
                         memo: dict[tuple[str, bool], tuple[datetime | None, str | None]]
                         ) -> tuple[datetime | None, bool, str | None]:
        """(due_at, urgent, the reason naming the SLA key): urgent when the urgency flag says so (the head
        mixed with the hazard lexicon, whatever the topic); an urgent appeal is due in hours and always goes
        to a person first, the review reason naming the hazard. A topic the SLA list marks urgent (燃气供应 …)
        keeps its short deadline in working days without flagging the appeal: a question about the gas bill
        is no gas leak. ``memo``: deadlines already worked out for this ``now`` (per key and flag)."""
        from minyi_nlp.routing.lists import CalendarError

        urgent = self._flag_urgent(urgency, review)
        if (key, urgent) not in memo:
            sla = self.lists.sla_for(key)
            try:
                due: datetime | None = self.lists.due_at(key, now, urgent=urgent)
                hours = sla.urgent_hours or self.lists.urgent_hours
                length = f"{hours:g} 小时 (紧急)" if urgent else f"{sla.working_days} 个工作日"
                memo[key, urgent] = due, length
            except CalendarError as exc:  # beyond every calendar the lists know: a person sets the deadline
                memo[key, urgent] = None, f"期限: {exc}"
        due, length = memo[key, urgent]
        if due is None:
            review.append(str(length))
            return None, urgent, None
        return due, urgent, f"实施清单: {key} ({score:.2f}) → {length}"

    def suggest_many(
        self,
        appeals: Sequence[tuple[str | None, str]],
        *,
        received_at: datetime | None = None,
        explain: bool = True,
        reasons: bool = True,
        deadlines: bool = True,
    ) -> list[Suggestion]:
        """Suggestions for (title, content) pairs, in order. ``explain``: the keywords; ``reasons``: each route's
        reasons (the batch job writes neither; scores and ranks do not depend on them); ``deadlines``: each
        appeal's ``due_at`` from the SLA list and the calendar, counted from ``received_at`` (the batch job asks
        for none: its rows have no time of receipt, and its output must not depend on when it runs, as a
        deadline beyond the calendar's last day would through its review reason)."""
        from minyi_nlp.routing import find_jurisdiction

        if not appeals:
            return []
        now = received_at or datetime.now(UTC)
        bundle = self.bundle
        X, prepared, masked = bundle.encode_pairs(list(appeals))
        cat = bundle.predict_proba("category", X)
        dep = bundle.predict_proba("department", X, prepared) if "department" in bundle.heads else None
        dep_labels = bundle.heads["department"].labels if dep is not None else []
        typ = bundle.predict_proba("appeal_type", X, prepared) if "appeal_type" in bundle.heads else None
        typ_labels = bundle.heads["appeal_type"].labels if typ is not None else []
        urgency = self.urgency.score_many(X, prepared)
        labels = self.category_labels
        subs = read_subcategories(bundle, X, cat, labels, threshold=self.routing.subcategory_threshold,
                                  top_k=self.settings.top_subcategories)
        top = np.argmax(cat, axis=1)
        keywords = bundle.explain(X, "category", [labels[j] for j in top], 5) if explain else None
        city = find_jurisdiction("", gazetteer=self.gazetteer).name
        cats_of, keys_of = [], []
        order = np.argsort(-cat, axis=1, kind="stable").tolist()  # best first; ties keep the label order
        for row, idx, sub in zip(cat.tolist(), order, subs or [None] * len(cat), strict=True):
            cats = [CategoryScore(labels[j], row[j]) for j in idx]
            cats_of.append(cats)
            keys_of.append(self._list_keys(cats, sub))
        ranked = rank_departments_many(
            [k[0] for k in keys_of], self.lists, dep, dep_labels, blend=self.routing.blend,
            temperature=self.routing.temperature, top_k=self.settings.top_departments, reasons=reasons,
            key_scores=[k[1] for k in keys_of],
            responders=[self.urgency.responders(u) for u in urgency],
            responder_weight=self.urgency.lexicon.responder_weight)
        memo: dict[tuple[str, bool], tuple[datetime | None, str | None]] = {}
        version = self.version
        places = [find_jurisdiction(text, gazetteer=self.gazetteer) for text in prepared]
        if typ is not None:
            best_type = typ.argmax(axis=1)
            types: list[str | None] = [typ_labels[j] for j in best_type.tolist()]
            type_scores: list[float | None] = typ[np.arange(len(typ)), best_type].tolist()
        else:
            types, type_scores = [None] * len(prepared), [None] * len(prepared)
        out = []
        for i, juris in enumerate(places):
            cats = cats_of[i]
            _, _, sla_key, sla_score = keys_of[i]
            review = self._review(cats)
            if deadlines:
                due, urgent, due_reason = self._urgent_deadline(sla_key, sla_score, now, urgency[i], review, memo)
            else:
                due, urgent, due_reason = None, self._flag_urgent(urgency[i], review), None
            out.append(
                Suggestion(
                    model_version=version,
                    categories=cats,
                    departments=self._departments(ranked[i], juris, city, reasons),
                    appeal_type=types[i],
                    appeal_type_score=type_scores[i],
                    due_at=due,
                    urgent=urgent,
                    needs_review=bool(review),
                    review_reasons=review,
                    keywords=[w for w, _ in keywords[i]] if keywords is not None else [],
                    jurisdiction=juris.full_name,
                    jurisdiction_level=juris.level,
                    urgency=urgency[i],
                    subcategories=[SubcategoryScore(p, s) for p, s in subs[i].paths] if subs else [],
                    due_reason=due_reason,
                    masked=masked[i],
                )
            )
        return out

    def suggest(self, title: str | None, content: str, *, received_at: datetime | None = None) -> Suggestion:
        return self.suggest_many([(title, content)], received_at=received_at)[0]
