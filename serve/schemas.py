"""Request and response bodies of the API (pydantic, strict: no silent type coercion)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# C0/C1 control characters other than tab and newlines: meaningless in an appeal, and PostgreSQL
# cannot store NUL. Removed before any check.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    """Drop control characters; refuse unpaired surrogates (they cannot be stored as UTF-8)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains invalid Unicode (unpaired surrogate)") from None
    return _CONTROL.sub("", value)


def is_blank(value: str) -> bool:
    """True when nothing but whitespace and invisible format characters (zero-width space …)."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc", "Zs") for ch in value)


def _not_blank(value: str) -> str:
    if is_blank(value):
        raise ValueError("must not be empty or whitespace only")
    return value.strip()


def _blank_to_none(value: str | None) -> str | None:
    if value is None or is_blank(value):
        return None
    return value.strip()


def required_text(max_length: int) -> Any:
    """A non-blank string of at most ``max_length`` characters (stripped, control characters dropped)."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(clean_text), AfterValidator(_not_blank)]


def optional_text(max_length: int) -> Any:
    """Like :func:`required_text`, but null, absent or blank all mean None."""
    inner = Annotated[str, Field(max_length=max_length), AfterValidator(clean_text)]
    return Annotated[inner | None, AfterValidator(_blank_to_none)]

_STRICT = ConfigDict(strict=True, extra="ignore")
MAX_CONTENT_CHARS = 20_000
MAX_TITLE_CHARS = 1_000
MAX_BATCH_ITEMS = 1_000


class AppealIn(BaseModel):
    """One appeal: ``content`` is required; ``title`` and ``channel`` are optional."""

    model_config = _STRICT

    title: optional_text(MAX_TITLE_CHARS) = Field(None, description="subject line (optional)")
    content: required_text(MAX_CONTENT_CHARS) = Field(..., description="the citizen's text, ≤ 20,000 characters")
    channel: optional_text(64) = Field(None, description="where it came from: web, app, 12345 …")


class BatchIn(BaseModel):
    """``{"items": [appeal, …]}`` (a bare JSON list of appeals is accepted too), 1 to 1,000 items."""

    model_config = _STRICT

    items: list[AppealIn] = Field(..., min_length=1, max_length=MAX_BATCH_ITEMS)

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        return {"items": data} if isinstance(data, list) else data


class CategoryOut(BaseModel):
    label: str
    score: float


class SubcategoryOut(BaseModel):
    path: str = Field(..., description="一级/二级[/三级] of taxonomy.yaml")
    score: float


class DepartmentOut(BaseModel):
    department: str
    jurisdiction: str
    level: str | None = None
    score: float
    reasons: list[str] = []


class SuggestionOut(BaseModel):
    """A stored suggestion: ranked categories and routes (department type at a jurisdiction)."""

    id: uuid.UUID
    created_at: datetime
    model_version: str
    categories: list[CategoryOut]
    subcategories: list[SubcategoryOut] = []
    departments: list[DepartmentOut]
    appeal_type: str | None = None
    appeal_type_score: float | None = None
    due_at: datetime | None = None
    due_reason: str | None = None
    urgent: bool = False
    needs_review: bool
    review_reasons: list[str] = []
    keywords: list[str] = []
    jurisdiction: str | None = None
    jurisdiction_level: str | None = None


class BatchOut(BaseModel):
    items: list[SuggestionOut]


class DecisionIn(BaseModel):
    """The dispatcher's choice. ``accepted_rank`` (1-based) accepts the route at that rank; null (or
    absent) is an override and then ``department`` is required. With ``accepted_rank``, ``department``
    and ``jurisdiction`` may be omitted (taken from the route) but must match it when given."""

    model_config = _STRICT

    department: optional_text(200) = None
    jurisdiction: optional_text(200) = None
    dispatcher: required_text(100) = Field(..., description="who decided (a name or staff id)")
    accepted_rank: int | None = Field(None, ge=1, le=1_000)


class DecisionOut(BaseModel):
    suggestion_id: uuid.UUID
    department: str
    jurisdiction: str | None
    dispatcher: str
    accepted_rank: int | None
    accepted: bool
    decided_at: datetime


class StoredSuggestionOut(SuggestionOut):
    """``GET /v1/suggestions/{id}``: the suggestion, its masked text and the decision if any."""

    title: str | None = None
    content: str
    channel: str | None = None
    decision: DecisionOut | None = None
