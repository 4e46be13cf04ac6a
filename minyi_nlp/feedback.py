"""Dispatcher decisions as training rows (``minyi train --with-feedback``, ``GET /v1/decisions/export``).

The category model learns 一级 categories, but a dispatcher decides a *department*. The label a
decision implies is the category that best explains the chosen department given what the model
read in the text::

    P(c | text, department) ∝ P(c | text) · P(department | c)

``P(c | text)`` is the stored suggestion's category list; ``P(department | c)`` comes from the 职责清单:
the largest normalised weight of the department among the duty entries of ``c`` and its sub-categories.
The label is kept only when that posterior is at least ``min_share`` (default 0.5), so a department
that many categories share (街道办事处, 区县人民政府) yields a label only when the text is clear.
A department that no category lists (a free-text override) yields no label. Accepted routes
(``accepted_rank`` set) and overrides use the same rule; an override to a department that only one
category lists is exactly the correction the model needs.

The text is the stored, already masked title and content (the service never stores raw text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC
from functools import lru_cache
from typing import Any

import pandas as pd

from minyi_nlp.data.tasks import compose_text

DEFAULT_MIN_SHARE = 0.5
SEP = "/"


def department_weights(lists: Any) -> dict[str, dict[str, float]]:
    """{一级 category: {department: P(department | category)}} from the duty list (max over sub-keys)."""
    out: dict[str, dict[str, float]] = {}
    for key, entries in lists.duty.items():
        l1 = key.split(SEP, 1)[0]
        total = sum(e.weight for e in entries) or 1.0
        weights = out.setdefault(l1, {})
        for e in entries:
            weights[e.department] = max(weights.get(e.department, 0.0), e.weight / total)
    return out


@lru_cache(maxsize=4)
def _cached_weights(lists: Any) -> dict[str, dict[str, float]]:
    return department_weights(lists)


def implied_category(
    categories: Iterable[Mapping[str, Any]],
    department: str,
    lists: Any,
    *,
    min_share: float = DEFAULT_MIN_SHARE,
) -> str | None:
    """The category a decision for ``department`` implies, or None when unclear (see module doc).

    ``categories`` is the suggestion's ``[{"label", "score"}, …]``.
    """
    weights = _cached_weights(lists)
    posterior: dict[str, float] = {}
    for c in categories:
        label = str(c.get("label"))
        w = weights.get(label.split(SEP, 1)[0], {}).get(department, 0.0)
        if w > 0:
            posterior[label] = posterior.get(label, 0.0) + float(c.get("score") or 0.0) * w
    total = sum(posterior.values())
    if total <= 0:
        return None
    label, best = max(posterior.items(), key=lambda kv: kv[1])
    return label if best / total >= min_share else None


def training_row(suggestion: Any, decision: Any, lists: Any, *, min_share: float = DEFAULT_MIN_SHARE) -> dict:
    """One export row for a stored (suggestion, decision) pair (ORM rows or objects alike)."""
    data = suggestion.suggestion or {}
    departments = data.get("departments") or []
    categories = data.get("categories") or []
    top = departments[0] if departments else {}
    decided_at = decision.decided_at
    if decided_at.tzinfo is None:  # SQLite hands back naive datetimes; they are stored in UTC
        decided_at = decided_at.replace(tzinfo=UTC)
    return {
        "suggestion_id": str(suggestion.id),
        "decided_at": decided_at.isoformat(),
        "text": compose_text(suggestion.title, suggestion.content),
        "category": implied_category(categories, decision.department, lists, min_share=min_share),
        "department": decision.department,
        "jurisdiction": decision.jurisdiction,
        "accepted": decision.accepted_rank is not None,
        "accepted_rank": decision.accepted_rank,
        "predicted_category": categories[0]["label"] if categories else None,
        "predicted_department": top.get("department"),
        "predicted_jurisdiction": top.get("jurisdiction"),
        "model_version": suggestion.model_version,
        "channel": suggestion.channel,
    }


def feedback_rows(database_url: str | None = None, *, min_share: float = DEFAULT_MIN_SHARE) -> pd.DataFrame:
    """Confirmed decisions from the service database as ``text, label`` training rows.

    ``database_url`` defaults to ``MINYI_DATABASE_URL`` (else the service's SQLite file). Rows whose
    decision implies no clear category are left out. A database that does not exist yet gives none.
    """
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from minyi_nlp.routing import load_lists
    from serve.db import make_engine
    from serve.settings import ServeSettings, normalise_database_url
    from serve.store import Store

    url = normalise_database_url(database_url) if database_url else ServeSettings().database_url
    empty = pd.DataFrame({"text": pd.Series(dtype=str), "label": pd.Series(dtype=str)})
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        from pathlib import Path

        if not Path(parsed.database).exists():
            return empty
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("decisions"):
            return empty
        lists = load_lists()
        rows = [training_row(s, d, lists, min_share=min_share) for s, d in Store(engine).iter_decisions()]
    finally:
        engine.dispose()
    frame = pd.DataFrame([{"text": r["text"], "label": r["category"]} for r in rows if r["category"] and r["text"]])
    return frame if len(frame) else empty
