"""Request and response bodies of ``/v1/appeals`` (intake, queue, detail, decision, merge)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from serve.schemas import (
    MAX_CONTENT_CHARS,
    MAX_TITLE_CHARS,
    Channel,
    DecisionIn,
    DecisionOut,
    DepartmentOut,
    Rfc3339,
    SuggestionOut,
    appeal_text,
    optional_text,
    required_text,
)

_STRICT = ConfigDict(strict=True, extra="ignore")


class CallerIn(BaseModel):
    """Who to call back (回访). Stored encrypted, apart from the appeal; shown only on its detail."""

    model_config = _STRICT

    name: optional_text(100) = None
    phone: optional_text(40) = None


class AppealCreate(BaseModel):
    """One appeal from a channel. ``(channel, external_id)`` makes the request idempotent."""

    model_config = _STRICT

    title: optional_text(MAX_TITLE_CHARS) = Field(None, description="subject line (optional)")
    content: appeal_text(MAX_CONTENT_CHARS) = Field(
        ..., description="the citizen's text, ≤ 20,000 characters, with at least one letter or digit")
    channel: Channel = Field(..., strict=False, description="where it came from (one of the listed channels)")
    received_at: Rfc3339 | None = Field(
        None, description="when the channel received it (RFC 3339 with an offset); default now, and a time in "
                          "the future counts as now. It starts the deadline and the similar-appeal window.")
    external_id: optional_text(200) = Field(None, description="the channel's own id of the appeal")
    caller: CallerIn | None = None
    address: optional_text(500) = Field(None, description="where the matter is (helps find the jurisdiction)")


class RouteOut(BaseModel):
    department: str
    jurisdiction: str | None = None
    how: str | None = Field(None, description="accepted | overridden | merged (followed its merge parent)")


class SimilarOut(BaseModel):
    id: uuid.UUID
    score: float
    received_at: datetime | None = None
    jurisdiction: str | None = None
    status: str | None = None
    title: str | None = None
    snippet: str | None = None
    route: RouteOut | None = None


class ExplainedDepartment(DepartmentOut):
    explanation: list[str] = Field([], description="why, in plain Chinese (for dispatchers)")


class AppealSuggestionOut(SuggestionOut):
    departments: list[ExplainedDepartment]  # type: ignore[assignment]


class AppealCreated(BaseModel):
    id: uuid.UUID
    status: str
    channel: str
    external_id: str | None = None
    received_at: datetime
    suggestion: AppealSuggestionOut
    similar: list[SimilarOut]


class AppealItem(BaseModel):
    """A row of the queue (no text beyond a masked snippet; never the contact)."""

    id: uuid.UUID
    status: str
    channel: str
    received_at: datetime
    due_at: datetime
    urgent: bool
    category: str | None = None
    jurisdiction: str | None = None
    title: str | None = None
    snippet: str | None = None
    suggested_route: dict | None = None
    route: RouteOut | None = None
    decided_at: datetime | None = None
    merged_into: uuid.UUID | None = None


class AppealPage(BaseModel):
    items: list[AppealItem]
    next_cursor: str | None = None


class ContactOut(BaseModel):
    name: str | None = None
    phone: str | None = None
    address: str | None = None


class EventOut(BaseModel):
    at: datetime
    actor: str
    action: str = Field(description="received | decided | merged | child_merged | unmerged | child_unmerged")
    detail: dict = {}


class AppealDecisionOut(DecisionOut):
    note: str | None = None


class AppealDetail(AppealItem):
    """``GET /v1/appeals/{id}``: the appeal (masked text), its suggestion, similar appeals, decision,
    merge parent and children, history, and — for dispatchers and admins — the caller's contact."""

    external_id: str | None = None
    content: str
    suggestion: AppealSuggestionOut
    similar: list[SimilarOut]
    decision: AppealDecisionOut | None = None
    parent: AppealItem | None = None
    children: list[AppealItem] = []
    history: list[EventOut] = []
    contact: ContactOut | None = None


class AppealDecisionIn(DecisionIn):
    """As ``POST /v1/suggestions/{id}/decision``, plus a ``note`` (stored masked)."""

    note: optional_text(2_000) = Field(None, description="a remark for the handling unit or the record")


class MergeIn(BaseModel):
    model_config = _STRICT

    into: required_text(64) = Field(..., description="the id of the appeal this one is the same matter as")
    dispatcher: optional_text(100) = Field(None, description="who merged (default: the key's role)")


StatusFilter = Literal["pending", "decided", "merged", "all"]
