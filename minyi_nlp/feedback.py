"""Dispatcher decisions as training rows (``minyi train --with-feedback``, ``GET /v1/decisions/export``).

A decision gives the department head a row (text → the decided department type) and, when clear, the
category head one (text → the category the decision implies, below). One decision in five, chosen by a hash
of its suggestion id, is never trained on: ``minyi models compare`` scores candidates on those.

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

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
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


HOLDOUT_MODULUS = 5  # one decision in five (by its suggestion id) is never trained on


def held_out(suggestion_id: str) -> bool:
    """Whether a decision belongs to the held-out fifth that training never reads (``minyi models compare``
    scores candidates on them): a fixed function of the suggestion id, the same in every run."""
    digest = hashlib.sha256(str(suggestion_id).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % HOLDOUT_MODULUS == 0


def feedback_rows(database_url: str | None = None, *, min_share: float = DEFAULT_MIN_SHARE,
                  until: datetime | None = None) -> pd.DataFrame:
    """Confirmed decisions from the service database as training rows.

    Columns: ``text`` (masked title + content), ``category`` (the category the decision implies, or None
    when unclear), ``department`` (the decided department type), ``suggestion_id``, ``decided_at``.
    Held-out decisions (:func:`held_out`) and decisions from ``until`` on are left out; so are rows with
    neither label. ``database_url`` defaults to ``MINYI_DATABASE_URL`` (else the service's SQLite file); a
    database that does not exist yet gives none.
    """
    from minyi_nlp.decisions import decision_frame
    from minyi_nlp.routing import load_lists

    frame = decision_frame(database_url, until=until)
    frame = frame[[not held_out(s) for s in frame["suggestion_id"]]]
    rows = []
    if len(frame):
        lists = load_lists()
        for r in frame.itertuples(index=False):
            text = compose_text(r.title, r.content)
            category = implied_category(r.categories, r.department, lists, min_share=min_share)
            if text and (category or r.department):
                rows.append({"text": text, "category": category, "department": r.department,
                             "suggestion_id": r.suggestion_id, "decided_at": r.decided_at})
    return pd.DataFrame(rows, columns=["text", "category", "department", "suggestion_id", "decided_at"])


def feedback_info(rows: pd.DataFrame) -> dict[str, Any]:
    """What a bundle records about the feedback it was trained on (``manifest.json``'s ``feedback``):
    enough for :func:`used_in_training` to tell which decisions it read."""
    from minyi_nlp.models.bundle import sha256_texts

    decided = pd.to_datetime(rows["decided_at"], utc=True) if len(rows) else pd.Series(dtype="datetime64[ns, UTC]")
    return {
        "rows": int(len(rows)),
        "category_rows": int(rows["category"].notna().sum()) if len(rows) else 0,
        "department_rows": int(rows["department"].notna().sum()) if len(rows) else 0,
        "decided_until": decided.max().isoformat() if len(rows) else None,
        "holdout": f"sha256(suggestion_id) mod {HOLDOUT_MODULUS} == 0 is never trained on",
        "sha256": sha256_texts([f"{s}\t{t}\t{c}\t{d}" for s, t, c, d in
                                zip(rows.get("suggestion_id", []), rows.get("text", []), rows.get("category", []),
                                    rows.get("department", []), strict=True)]),
    }


def used_in_training(suggestion_id: str, decided_at: Any, info: dict[str, Any] | None) -> bool:
    """Whether a bundle with feedback record ``info`` may have trained on this decision."""
    if not info or not info.get("decided_until") or held_out(suggestion_id):
        return False
    return pd.Timestamp(decided_at) <= pd.Timestamp(info["decided_until"])
