"""Rank department types for an appeal: the duty list through the category probabilities, blended with
the department head's own scores.

Per department type d::

    duty(d)  = Σ_c P(c|text) · P(d|c)                     (职责清单 weights, normalised per category)

where c is a category key at any level: the dispatcher passes each 一级's probability under its decided
sub-category key (:mod:`minyi_nlp.dispatch.subcategory`), and the list of the most specific listed key
answers P(d|c).
    blend(d) = (1 − w) · duty(d) + w · P_model(d|text)      (w tuned on a validation part)
    score(d) = blend(d)^(1/T) / Σ_d' blend(d')^(1/T)        (temperature T fitted on the same part)

Pure functions of their inputs and the loaded lists; the dispatcher, the batch job and the evaluation
all call :func:`rank_departments`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from minyi_nlp.routing.jurisdiction import place_at_level  # noqa: F401 (re-exported: a unit's place)

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
    scores, levels, _ = _duty_terms(category_probs, lists, keep_terms=False)
    return scores, levels


Term = tuple[float, str, float]  # (P(c)·weight, category key, P(c))


def _duty_terms(category_probs: Mapping[str, float], lists: Any, keep_terms: bool = True
                ) -> tuple[dict[str, float], dict[str, str], dict[str, list[Term]]]:
    """:func:`duty_scores` and, per department type, the terms that made its score (for the reasons; empty
    without ``keep_terms``)."""
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, str]] = {}
    terms: dict[str, list[Term]] = {}
    for category, p in category_probs.items():
        entries = duty_entries(lists, category)
        if entries is None:
            continue
        for e in entries:
            term = p * e.weight
            dept = e.department
            scores[dept] = scores.get(dept, 0.0) + term
            if keep_terms:
                terms.setdefault(dept, []).append((term, category, p))
            held = best.get(dept)
            if held is None or term > held[0]:
                best[dept] = (term, e.level)
    return scores, {d: lvl for d, (_, lvl) in best.items()}, terms


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
    key_scores: Mapping[str, float] | None = None,
) -> list[RankedDepartment]:
    """Department types best first (ties by name): the duty list through the category probabilities,
    blended with the department model's scores when given. Scores are over all types (``top_k`` only cuts
    the list). ``key_scores``: the probability a reason shows for a key (default its mass)."""
    duty, levels, terms = _duty_terms(category_probs, lists, keep_terms=reasons)
    scores = combine_scores(duty, model_scores, blend=blend, temperature=temperature)
    out = []
    for dept, score in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]:
        why: list[str] = []
        if reasons:
            why = _duty_reasons(dept, terms.get(dept, []), key_scores or {})
            p = (model_scores or {}).get(dept, 0.0)
            if p >= 0.05:
                why.append(f"部门模型: {p:.2f}")
        out.append(RankedDepartment(dept, levels.get(dept) or default_level(dept, lists), score, tuple(why)))
    return out


def _duty_reasons(dept: str, terms: list[Term], shown: Mapping[str, float], k: int = 2) -> list[str]:
    return [f"职责清单: {c} ({shown.get(c, p):.2f}) → {dept}" for _, c, p in sorted(terms, reverse=True)[:k]
            if p >= 0.05]
