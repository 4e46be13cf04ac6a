"""Reading and writing appeals (synchronous SQLAlchemy; call from worker threads).

The queue is keyset-paginated: each list has one sort order, served by one index of ``appeals``
(pending: urgent first, then the earliest due; decided/merged: the latest first; all: the latest
received first), and the cursor carries the last row's sort key.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from serve import appeal_search
from serve.db import DecisionRow, SuggestionRow, utcnow
from serve.db_appeals import DECIDED, MERGED, PENDING, AppealContactRow, AppealEventRow, AppealRow
from serve.store import NewSuggestion, aware, parse_id

SNIPPET_CHARS = 120


class AppealNotFound(LookupError):
    pass


class MergeError(Exception):
    """A merge that cannot be done; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str, appeal: AppealRow | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.appeal = appeal


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class _Seq:
    seq: int


@dataclass(frozen=True)
class NewAppeal:
    """What is written for one appeal (text already masked; contact already encrypted)."""

    suggestion: NewSuggestion
    channel: str
    external_id: str | None
    received_at: datetime
    urgent: bool
    due_at: datetime
    jurisdiction: str | None
    similar: list[dict[str, Any]]
    vector: bytes | None
    sketch: bytes | None
    vector_version: str | None
    contact_token: bytes | None
    actor: str
    search_words: list[str]

    def row(self) -> dict[str, Any]:
        s = self.suggestion.suggestion
        top = (s.get("departments") or [None])[0] or {}
        cats = s.get("categories") or []
        return {
            "id": self.suggestion.id, "channel": self.channel, "external_id": self.external_id,
            "received_at": self.received_at, "status": PENDING, "priority": 0 if self.urgent else 1,
            "urgent": self.urgent, "due_at": self.due_at, "category": cats[0]["label"] if cats else None,
            "jurisdiction": self.jurisdiction, "top_department": top.get("department"),
            "top_jurisdiction": top.get("jurisdiction"), "top_score": top.get("score"),
            "similar": self.similar, "vector": self.vector, "sketch": self.sketch,
            "vector_version": self.vector_version,
        }


@dataclass(frozen=True)
class ListQuery:
    """Filters of ``GET /v1/appeals`` (times in UTC)."""

    status: str = PENDING  # pending | decided | merged | all
    q: str | None = None
    category: str | None = None
    jurisdiction: str | None = None
    urgent: bool | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    decided_since: datetime | None = None
    decided_until: datetime | None = None
    cursor: str | None = None
    limit: int = 50


@dataclass
class AppealRecord:
    """One appeal with everything its detail shows."""

    appeal: AppealRow
    suggestion: SuggestionRow
    decision: DecisionRow | None
    children: list[AppealRow] = field(default_factory=list)
    events: list[AppealEventRow] = field(default_factory=list)
    contact_token: bytes | None = None


# --------------------------------------------------------------------------- keyset order

ORDER: dict[str, tuple[tuple[Any, ...], bool]] = {  # status → (sort columns, descending)
    PENDING: ((AppealRow.priority, AppealRow.due_at, AppealRow.seq), False),
    DECIDED: ((AppealRow.decided_at, AppealRow.seq), True),
    MERGED: ((AppealRow.merged_at, AppealRow.seq), True),
    "all": ((AppealRow.received_at, AppealRow.seq), True),
    "search": ((AppealRow.seq,), True),  # any list with q: the latest taken in first
}
SEARCH_WINDOW = 1_000  # full-text matches looked at per page (newest first), then filtered


def _page_columns() -> Any:
    """A queue row: plain columns of ``appeals`` (no ORM objects), the title and a snippet, the decision."""
    a = AppealRow
    return (select(a.seq, a.id, a.status, a.channel, a.received_at, a.due_at, a.urgent, a.priority, a.category,
                   a.jurisdiction, a.top_department, a.top_jurisdiction, a.top_score, a.decided_at,
                   a.merged_into, a.merged_at, SuggestionRow.title,
                   func.substr(SuggestionRow.content, 1, SNIPPET_CHARS).label("snippet"),
                   DecisionRow.department.label("d_department"), DecisionRow.jurisdiction.label("d_jurisdiction"),
                   DecisionRow.accepted_rank.label("d_rank"), DecisionRow.dispatcher.label("d_dispatcher"))
            .join(SuggestionRow, SuggestionRow.id == a.id)
            .outerjoin(DecisionRow, DecisionRow.suggestion_id == a.id))


PAGE_SELECT = _page_columns()  # built once: its columns are then the same objects in every page's result

FILTERS: tuple[tuple[str, Any, str], ...] = (  # ListQuery field, column, comparison
    ("category", AppealRow.category, "=="), ("channel", AppealRow.channel, "=="), ("urgent", AppealRow.urgent, "=="),
    ("jurisdiction", AppealRow.jurisdiction, "prefix"),
    ("since", AppealRow.received_at, ">="), ("until", AppealRow.received_at, "<"),
    ("decided_since", AppealRow.decided_at, ">="), ("decided_until", AppealRow.decided_at, "<"),
)


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@lru_cache(maxsize=1024)
def page_statement(status: str, search: str | None, cursor: bool, filters: tuple[str, ...], limit: int) -> Any:
    """The page query of one shape (``search``: the dialect when there is a ``q``), with bound parameters for
    every value (``after0…``, ``f_<filter>``, ``search_q``, ``lim``, ``before``). Kept and reused:
    SQLAlchemy then computes its cache key once, not per request."""
    cols, desc = ORDER["search" if search else status]
    stmt = PAGE_SELECT
    if status != "all":
        stmt = stmt.where(AppealRow.status == status)
    if cursor:
        after = tuple_(*(bindparam(f"after{i}", type_=c.type) for i, c in enumerate(cols)))
        stmt = stmt.where(tuple_(*cols) < after if desc else tuple_(*cols) > after)
    for name, col, how in FILTERS:
        if name in filters:
            value = bindparam(f"f_{name}", type_=col.type)
            stmt = stmt.where(col.like(value, escape="\\") if how == "prefix" else
                              col == value if how == "==" else col >= value if how == ">=" else col < value)
    if search:
        stmt = stmt.where(AppealRow.seq.in_(appeal_search.matching_seqs(search, before=cursor)))
    return stmt.order_by(*([c.desc() for c in cols] if desc else cols)).limit(limit)


def _utc(value: datetime) -> datetime:
    return aware(value).astimezone(UTC)


def _iso(value: datetime) -> str:
    """ISO 8601 in UTC (SQLite gives naive UTC, PostgreSQL aware values in the session's zone)."""
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)).isoformat()


def _order_key(query: ListQuery) -> str:
    return "search" if query.q else query.status


def encode_cursor(query: ListQuery, row: Any) -> str:
    values = []
    for col in ORDER[_order_key(query)][0]:
        v = getattr(row, col.key)
        values.append(_utc(v).isoformat() if isinstance(v, datetime) else v)
    tag = f"{query.status}?q" if query.q else query.status
    raw = json.dumps([tag, values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(query: ListQuery, cursor: str) -> list[Any]:
    try:
        got, values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cols = ORDER[_order_key(query)][0]
        if got != (f"{query.status}?q" if query.q else query.status) or len(values) != len(cols):
            raise ValueError
        return [datetime.fromisoformat(v) if isinstance(v, str) else int(v) for v in values]
    except (ValueError, TypeError, KeyError) as exc:
        raise BadCursor("no such page in this list (pass back next_cursor with the same query)") from exc


# --------------------------------------------------------------------------- the store


class AppealStore:
    """Appeals, their contacts, history and search words; shares the service's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    # -- intake ---------------------------------------------------------------------------------
    def find_external(self, channel: str, external_id: str | None) -> AppealRow | None:
        if external_id is None:
            return None
        with self.sessions() as session:
            return session.scalars(select(AppealRow).where(AppealRow.channel == channel,
                                                           AppealRow.external_id == external_id)).first()

    def create(self, new: NewAppeal) -> tuple[AppealRow, bool]:
        """Insert the suggestion, the appeal, its contact, search words and first event in one
        transaction; (row, True). The same (channel, external_id) again: (existing row, False)."""
        aid = new.suggestion.id
        try:
            with self.sessions.begin() as session:
                session.execute(insert(SuggestionRow), [new.suggestion.row()])
                seq = session.execute(insert(AppealRow).returning(AppealRow.seq), [new.row()]).scalar_one()
                if new.contact_token is not None:
                    session.add(AppealContactRow(appeal_id=aid, token=new.contact_token, created_at=utcnow()))
                session.add(AppealEventRow(appeal_id=aid, at=utcnow(), actor=new.actor, action="received",
                                           detail={"channel": new.channel, "external_id": new.external_id}))
                session.flush()
                if new.search_words:
                    appeal_search.add(session.connection(), seq, new.search_words)
        except IntegrityError:
            existing = self.find_external(new.channel, new.external_id)
            if existing is None:
                raise
            return existing, False
        row = self.get_row(aid)
        return row, True

    def get_row(self, appeal_id: uuid.UUID) -> AppealRow:
        with self.sessions() as session:
            row = session.scalars(select(AppealRow).where(AppealRow.id == appeal_id)).first()
            if row is None:
                raise AppealNotFound(str(appeal_id))
            return row

    # -- reading --------------------------------------------------------------------------------
    def get(self, appeal_id: str, *, with_contact: bool = False) -> AppealRecord:
        aid = parse_id(appeal_id)
        if aid is None:
            raise AppealNotFound(appeal_id)
        with self.sessions() as session:
            found = session.execute(
                select(AppealRow, SuggestionRow, DecisionRow)
                .join(SuggestionRow, SuggestionRow.id == AppealRow.id)
                .outerjoin(DecisionRow, DecisionRow.suggestion_id == AppealRow.id)
                .where(AppealRow.id == aid)).first()
            if found is None:
                raise AppealNotFound(appeal_id)
            record = AppealRecord(*found)
            record.children = list(session.scalars(select(AppealRow).where(AppealRow.merged_into == aid)
                                                   .order_by(AppealRow.merged_at, AppealRow.seq)))
            record.events = list(session.scalars(select(AppealEventRow).where(AppealEventRow.appeal_id == aid)
                                                 .order_by(AppealEventRow.at, AppealEventRow.id)))
            if with_contact:
                record.contact_token = session.scalar(select(AppealContactRow.token)
                                                      .where(AppealContactRow.appeal_id == aid))
            return record

    def summaries(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Short facts about appeals (for similar lists and merge parents), with the route each was
        dispatched to: its own decision, or its merge parent's."""
        uids = [u for u in (parse_id(i) for i in ids) if u is not None]
        if not uids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(self._page_select().where(AppealRow.id.in_(uids))).all()
            parents = {r.merged_into for r in rows if r.merged_into is not None}
            parent_routes = {}
            if parents:
                for pid, dept, juris in conn.execute(
                        select(DecisionRow.suggestion_id, DecisionRow.department, DecisionRow.jurisdiction)
                        .where(DecisionRow.suggestion_id.in_(parents))):
                    parent_routes[pid] = {"department": dept, "jurisdiction": juris, "how": "merged"}
        out = {}
        for r in rows:
            item = self._item(r)
            if item["route"] is None and r.merged_into is not None:
                item["route"] = parent_routes.get(r.merged_into)
            out[item["id"]] = item
        return out

    @staticmethod
    def _page_select() -> Any:
        return PAGE_SELECT

    @staticmethod
    def _item(row: Any) -> dict[str, Any]:
        """A queue row as JSON-shaped dict (positional: this runs 50 times per page)."""
        (_seq, aid, status, channel, received_at, due_at, urgent, _priority, category, jurisdiction, top_department,
         top_jurisdiction, top_score, decided_at, merged_into, _merged_at, title, snippet, dept, juris, rank,
         who) = row
        return {
            "id": str(aid), "status": status, "channel": channel, "received_at": _iso(received_at),
            "due_at": _iso(due_at), "urgent": urgent, "category": category, "jurisdiction": jurisdiction,
            "title": title, "snippet": snippet,
            "suggested_route": ({"department": top_department, "jurisdiction": top_jurisdiction, "score": top_score}
                                if top_department else None),
            "route": ({"department": dept, "jurisdiction": juris, "how": "accepted" if rank else "overridden",
                       "dispatcher": who} if dept else None),
            "decided_at": _iso(decided_at) if decided_at else None,
            "merged_into": str(merged_into) if merged_into else None,
        }

    def list(self, query: ListQuery) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the queue and the cursor of the next page (None at the end).

        With ``q``, the page is taken from the newest :data:`SEARCH_WINDOW` full-text matches older than
        the cursor, filtered, newest first: the cost stays bounded however common the words are, and a
        page may be short while ``next_cursor`` still says there is more to look at."""
        after = decode_cursor(query, query.cursor) if query.cursor else None
        params: dict[str, Any] = {f"after{i}": v for i, v in enumerate(after or ())}
        for name, _col, how in FILTERS:
            value = getattr(query, name)
            if value is not None:
                params[f"f_{name}"] = (_utc(value) if isinstance(value, datetime) else
                                       _like_prefix(value) if how == "prefix" else value)
        dialect = self.engine.dialect.name
        if query.q:
            params["search_q"] = appeal_search.match_expression(dialect, query.q)
            if params["search_q"] is None:
                return [], None
            params["lim"] = SEARCH_WINDOW
            if after is not None:
                params["before"] = after[0]
        stmt = page_statement(query.status, dialect if query.q else None, after is not None,
                              tuple(n for n, _c, _h in FILTERS if f"f_{n}" in params), query.limit + 1)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt, params).all()
            if len(rows) > query.limit:
                return [self._item(r) for r in rows[: query.limit]], encode_cursor(query, rows[query.limit - 1])
            window = None
            if query.q:  # a full window may have more matches beyond it
                sub = appeal_search.matching_seqs(dialect, before=after is not None).subquery()
                window = conn.execute(select(func.count(), func.min(sub.c[0])), params).one()
        items = [self._item(r) for r in rows]
        if window is not None and window[0] == SEARCH_WINDOW:
            return items, encode_cursor(query, _Seq(window[1]))
        return items, None

    # -- decisions and merges -------------------------------------------------------------------
    def merge(self, child_id: str, into_id: str, actor: str) -> tuple[AppealRow, bool]:
        """Merge ``child`` into ``into`` (or the appeal ``into`` is itself merged into); (child, changed)."""
        cid, pid = parse_id(child_id), parse_id(into_id)
        with self.sessions.begin() as session:
            child = self._row(session, cid, child_id)
            parent = self._row(session, pid, into_id, field="into")
            for _ in range(8):  # merge into the root of a chain
                if parent.merged_into is None:
                    break
                parent = self._row(session, parent.merged_into, str(parent.merged_into))
            if parent.id == child.id:
                raise MergeError(409, "into: this is the appeal itself or one merged into it")
            if child.status == MERGED:
                if child.merged_into == parent.id:
                    return child, False
                raise MergeError(409, f"already merged into {child.merged_into}; undo that merge first", child)
            if child.status == DECIDED:
                raise MergeError(409, "already decided: a decided appeal cannot be merged", child)
            if session.scalar(select(func.count()).where(AppealRow.merged_into == child.id)):
                raise MergeError(409, "other appeals are merged into this one; merge it the other way round or "
                                      "undo those merges first", child)
            now = utcnow()
            done = session.execute(update(AppealRow).where(AppealRow.id == child.id, AppealRow.status == PENDING)
                                   .values(status=MERGED, merged_into=parent.id, merged_at=now)).rowcount
            if not done:
                raise MergeError(409, "the appeal changed meanwhile; reload it", child)
            session.add(AppealEventRow(appeal_id=child.id, at=now, actor=actor, action="merged",
                                       detail={"into": str(parent.id)}))
            session.add(AppealEventRow(appeal_id=parent.id, at=now, actor=actor, action="child_merged",
                                       detail={"child": str(child.id)}))
        return self.get_row(child.id), True

    def unmerge(self, child_id: str, actor: str) -> tuple[AppealRow, bool]:
        cid = parse_id(child_id)
        with self.sessions.begin() as session:
            child = self._row(session, cid, child_id)
            parent_id = child.merged_into
            if child.status != MERGED or parent_id is None:
                return child, False
            done = session.execute(update(AppealRow).where(AppealRow.id == child.id, AppealRow.status == MERGED)
                                   .values(status=PENDING, merged_into=None, merged_at=None)).rowcount
            if done:
                now = utcnow()
                session.add(AppealEventRow(appeal_id=child.id, at=now, actor=actor, action="unmerged",
                                           detail={"from": str(parent_id)}))
                session.add(AppealEventRow(appeal_id=parent_id, at=now, actor=actor,
                                           action="child_unmerged", detail={"child": str(child.id)}))
        return self.get_row(child.id), bool(done)

    @staticmethod
    def _row(session: Session, aid: uuid.UUID | None, given: str, *, field: str | None = None) -> AppealRow:
        row = None if aid is None else session.scalars(select(AppealRow).where(AppealRow.id == aid)).first()
        if row is None:
            raise MergeError(404, f"{field}: unknown appeal" if field else "unknown appeal")
        return row

    # -- vectors --------------------------------------------------------------------------------
    def iter_vectors(self, chunk: int = 5_000) -> Iterator[list[Any]]:
        """Rows with ``id, received_at, jurisdiction, vector, sketch, vector_version, title, content`` in
        chunks, by seq."""
        last = 0
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(AppealRow.seq, AppealRow.id, AppealRow.received_at, AppealRow.jurisdiction,
                           AppealRow.vector, AppealRow.sketch, AppealRow.vector_version, SuggestionRow.title,
                           SuggestionRow.content)
                    .join(SuggestionRow, SuggestionRow.id == AppealRow.id)
                    .where(AppealRow.seq > last).order_by(AppealRow.seq).limit(chunk)).all()
            if not rows:
                return
            last = rows[-1].seq
            yield list(rows)

    def set_vectors(self, items: Sequence[tuple[uuid.UUID, bytes, bytes | None]], version: str) -> None:
        """Store re-encoded rows: (id, dense row, sketch)."""
        with self.sessions.begin() as session:
            for aid, dense, sketch in items:
                session.execute(update(AppealRow).where(AppealRow.id == aid)
                                .values(vector=dense, sketch=sketch, vector_version=version))
