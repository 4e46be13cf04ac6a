"""Reading and writing suggestions and decisions (synchronous SQLAlchemy; call from worker threads)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from serve.db import DecisionRow, SuggestionRow, ping, utcnow
from serve.db_appeals import DECIDED, PENDING, AppealEventRow, AppealRow


class NotFound(LookupError):
    pass


class Conflict(Exception):
    """A different decision was already recorded for this suggestion."""

    def __init__(self, existing: DecisionRow) -> None:
        super().__init__("a different decision is already recorded")
        self.existing = existing


@dataclass(frozen=True)
class NewSuggestion:
    """What is written for one suggestion (text already masked)."""

    id: uuid.UUID
    created_at: datetime
    title: str | None
    content: str
    channel: str | None
    suggestion: dict[str, Any]

    def row(self) -> dict[str, Any]:
        cats = self.suggestion.get("categories") or []
        return {
            "id": self.id,
            "created_at": self.created_at,
            "title": self.title,
            "content": self.content,
            "channel": self.channel,
            "model_version": self.suggestion["model_version"],
            "top_category": cats[0]["label"] if cats else None,
            "suggestion": self.suggestion,
            "needs_review": bool(self.suggestion.get("needs_review")),
        }


@dataclass(frozen=True)
class NewDecision:
    department: str
    jurisdiction: str | None
    dispatcher: str
    accepted_rank: int | None
    note: str | None = None  # masked

    def same_as(self, row: DecisionRow) -> bool:
        """Same routing decision (who sent it does not matter)."""
        return (self.department, self.jurisdiction, self.accepted_rank) == (
            row.department, row.jurisdiction, row.accepted_rank)


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes: they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (ValueError, TypeError):
        return None


def mark_appeal_decided(session: Session, decision: DecisionRow) -> None:
    """If the suggestion is a pending appeal's, the appeal is now decided (same transaction)."""
    done = session.execute(update(AppealRow).where(AppealRow.id == decision.suggestion_id, AppealRow.status == PENDING)
                           .values(status=DECIDED, decided_at=decision.decided_at)).rowcount
    if done:
        what = {"department": decision.department, "jurisdiction": decision.jurisdiction,
                "accepted_rank": decision.accepted_rank}
        session.add(AppealEventRow(appeal_id=decision.suggestion_id, at=decision.decided_at,
                                   actor=decision.dispatcher, action="decided", detail=what))


class Store:
    """The service's database access, one engine per app."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    def ping(self) -> None:
        ping(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()

    # -- suggestions ----------------------------------------------------------------------------
    def add_suggestions(self, items: Sequence[NewSuggestion]) -> None:
        """Insert all ``items`` in one transaction."""
        if not items:
            return
        with self.sessions.begin() as session:
            session.execute(insert(SuggestionRow), [s.row() for s in items])

    def get_suggestion(self, suggestion_id: str) -> tuple[SuggestionRow, DecisionRow | None]:
        sid = parse_id(suggestion_id)
        if sid is None:
            raise NotFound(suggestion_id)
        with self.sessions() as session:
            row = session.get(SuggestionRow, sid)
            if row is None:
                raise NotFound(suggestion_id)
            return row, self._decision(session, sid)

    @staticmethod
    def _decision(session: Session, sid: uuid.UUID) -> DecisionRow | None:
        return session.scalars(select(DecisionRow).where(DecisionRow.suggestion_id == sid)).first()

    # -- decisions ------------------------------------------------------------------------------
    def add_decision(self, suggestion_id: uuid.UUID, decision: NewDecision) -> tuple[DecisionRow, bool]:
        """Record ``decision``; returns (row, created). The same decision again is not an error;
        a different one raises :class:`Conflict` (also when two arrive at once)."""
        row = DecisionRow(suggestion_id=suggestion_id, department=decision.department,
                          jurisdiction=decision.jurisdiction, dispatcher=decision.dispatcher,
                          accepted_rank=decision.accepted_rank, decided_at=utcnow(), note=decision.note)
        with self.sessions() as session:
            existing = self._decision(session, suggestion_id)
            if existing is None:
                session.add(row)
                try:
                    session.flush()
                    mark_appeal_decided(session, row)
                    session.commit()
                    return row, True
                except IntegrityError:  # lost a race with a concurrent decision
                    session.rollback()
                    existing = self._decision(session, suggestion_id)
                    if existing is None:
                        raise
            if decision.same_as(existing):
                return existing, False
            raise Conflict(existing)

    def iter_decisions(
        self, since: datetime | None = None, chunk: int = 500
    ) -> Iterator[tuple[SuggestionRow, DecisionRow]]:
        """Every (suggestion, decision) pair decided at or after ``since``, oldest first, streamed."""
        stmt = select(SuggestionRow, DecisionRow).join(DecisionRow, DecisionRow.suggestion_id == SuggestionRow.id)
        if since is not None:
            stmt = stmt.where(DecisionRow.decided_at >= since)
        stmt = stmt.order_by(DecisionRow.decided_at, DecisionRow.id).execution_options(yield_per=chunk)
        with self.sessions() as session:
            for suggestion, decision in session.execute(stmt):
                yield suggestion, decision
                session.expunge(suggestion)
                session.expunge(decision)
