"""The service's stored suggestions and decisions as pandas frames (for feedback, compare and monitoring).

Read through the service's own SQLAlchemy models (:mod:`serve.db`) on ``MINYI_DATABASE_URL`` (default: the
service's SQLite file). A database that does not exist yet reads as empty frames, and is not created.
Texts are the stored ones: already normalised and masked by the service.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

SUGGESTION_COLUMNS = ("suggestion_id", "created_at", "model_version", "channel", "top_category",
                      "category_score", "top_department", "top_jurisdiction", "route_score", "needs_review")
DECISION_COLUMNS = (*SUGGESTION_COLUMNS, "title", "content", "categories", "routes", "decided_at", "department",
                    "jurisdiction", "accepted_rank", "dispatcher")


def database_url(url: str | None = None) -> str:
    from serve.settings import ServeSettings, normalise_database_url

    return normalise_database_url(url) if url else ServeSettings().database_url


@contextmanager
def open_engine(source: Any = None) -> Iterator[Any | None]:
    """An engine on the service database (``source``: a URL, None for the default, or an open SQLAlchemy
    engine, which is used as it is), or None when it does not exist (a SQLite file not made yet, or no
    tables): nothing is created."""
    from sqlalchemy import Engine, inspect
    from sqlalchemy.engine import make_url

    from serve.db import make_engine

    if isinstance(source, Engine):
        yield source if inspect(source).has_table("decisions") else None
        return
    url = database_url(source)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not Path(parsed.database).expanduser().exists():
        yield None
        return
    engine = make_engine(url)
    try:
        yield engine if inspect(engine).has_table("decisions") else None
    finally:
        engine.dispose()


def aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _suggestion_fields(row: Any) -> dict[str, Any]:
    data = row.suggestion or {}
    cats = data.get("categories") or []
    routes = data.get("departments") or []
    return {
        "suggestion_id": str(row.id),
        "created_at": aware(row.created_at),
        "model_version": row.model_version,
        "channel": row.channel,
        "top_category": cats[0]["label"] if cats else None,
        "category_score": float(cats[0]["score"]) if cats else None,
        "top_department": routes[0].get("department") if routes else None,
        "top_jurisdiction": routes[0].get("jurisdiction") if routes else None,
        "route_score": float(routes[0]["score"]) if routes else None,
        "needs_review": bool(row.needs_review),
    }


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    for col in ("created_at", "decided_at"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], utc=True)
    if "accepted_rank" in frame:
        frame["accepted_rank"] = frame["accepted_rank"].astype("Int64")  # <NA>: an override
    return frame


def suggestion_frame(url: Any = None, *, since: datetime | None = None,
                     until: datetime | None = None) -> pd.DataFrame:
    """One row per stored suggestion made in [since, until): :data:`SUGGESTION_COLUMNS`."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from serve.db import SuggestionRow

    rows: list[dict[str, Any]] = []
    with open_engine(url) as engine:
        if engine is not None:
            stmt = select(SuggestionRow)
            if since is not None:
                stmt = stmt.where(SuggestionRow.created_at >= since)
            if until is not None:
                stmt = stmt.where(SuggestionRow.created_at < until)
            with Session(engine) as session:
                for row in session.scalars(stmt.order_by(SuggestionRow.created_at).execution_options(yield_per=1000)):
                    rows.append(_suggestion_fields(row))
                    session.expunge(row)
    return _frame(rows, SUGGESTION_COLUMNS)


def decision_frame(url: Any = None, *, since: datetime | None = None,
                   until: datetime | None = None) -> pd.DataFrame:
    """One row per decision taken in [since, until), with its suggestion: :data:`DECISION_COLUMNS`
    (``categories`` and ``routes`` are the suggestion's lists; ``accepted_rank`` is None for an override)."""
    from serve.store import Store

    rows: list[dict[str, Any]] = []
    with open_engine(url) as engine:
        if engine is not None:
            for s, d in Store(engine).iter_decisions(since=since):
                decided = aware(d.decided_at)
                if until is not None and decided >= until:
                    break
                data = s.suggestion or {}
                rows.append({**_suggestion_fields(s), "title": s.title, "content": s.content,
                             "categories": data.get("categories") or [], "routes": data.get("departments") or [],
                             "decided_at": decided, "department": d.department, "jurisdiction": d.jurisdiction,
                             "accepted_rank": d.accepted_rank, "dispatcher": d.dispatcher})
    return _frame(rows, DECISION_COLUMNS)
