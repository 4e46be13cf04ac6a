"""Request and response bodies of the API (pydantic, strict: no silent type coercion)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)

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


# What the OpenAPI document promises, checked with the same regular expressions (ECMA-262 and
# Python read these classes alike): a visible character — not whitespace, control or invisible
# format characters —, and for an appeal's content a letter or digit (Latin, Greek, Cyrillic, CJK,
# kana, Hangul, full-width), so that punctuation-only content is refused as in the CLI.
VISIBLE_PATTERN = (
    r"[^\t\n\v\f\r \u0000-\u001f\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f"
    r"\u205f-\u206f\u3000\ufeff\ufff9-\ufffb]"
)
TEXT_PATTERN = (
    r"[0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]"
)
_VISIBLE = re.compile(VISIBLE_PATTERN)
_TEXT = re.compile(TEXT_PATTERN)


def is_blank(value: str) -> bool:
    """True when nothing but whitespace and invisible format characters (zero-width space …)."""
    return _VISIBLE.search(value) is None


def _not_blank(value: str) -> str:
    if is_blank(value):
        raise ValueError("must not be empty or whitespace only")
    return value.strip()


def _has_text(value: str) -> str:
    if _TEXT.search(value) is None:
        raise ValueError("has no letter, digit or CJK character (punctuation or symbols only)")
    return value


def _blank_to_none(value: str | None) -> str | None:
    if value is None or is_blank(value):
        return None
    return value.strip()


_RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def rfc3339(value: str) -> datetime:
    """An RFC 3339 date-time with an offset (``2024-05-01T08:00:00+08:00``) as an aware UTC datetime;
    ValueError for anything else (a bare number, no offset, 2024-02-30)."""
    text = value.strip()
    if _RFC3339.fullmatch(text) is None:
        raise ValueError("must be an RFC 3339 date-time with a time zone, e.g. 2024-05-01T00:00:00+08:00")
    text = text[:10] + "T" + text[11:]
    text = text[:17] + min(text[17:19], "59") + text[19:]  # a leap second :60 counts as :59
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError("is not a real date and time") from None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999
        return datetime.min.replace(tzinfo=UTC) if parsed.year < 5000 else datetime.max.replace(tzinfo=UTC)


def _rfc3339_input(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string with a time zone")
    return rfc3339(value)


Rfc3339 = Annotated[datetime, PlainValidator(_rfc3339_input), WithJsonSchema({"type": "string", "format": "date-time"})]


def required_text(max_length: int) -> Any:
    """A non-blank string of at most ``max_length`` characters (stripped, control characters dropped)."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=VISIBLE_PATTERN),
                     AfterValidator(clean_text), AfterValidator(_not_blank)]


def appeal_text(max_length: int) -> Any:
    """Like :func:`required_text`, and it must hold a letter or digit (not punctuation only)."""
    return Annotated[str, Field(min_length=1, max_length=max_length, pattern=TEXT_PATTERN),
                     AfterValidator(clean_text), AfterValidator(_has_text), AfterValidator(_not_blank)]


def optional_text(max_length: int) -> Any:
    """Like :func:`required_text`, but null, absent or blank all mean None."""
    inner = Annotated[str, Field(max_length=max_length), AfterValidator(clean_text)]
    return Annotated[inner | None, AfterValidator(_blank_to_none)]

_STRICT = ConfigDict(strict=True, extra="ignore", regex_engine="python-re")  # the patterns read as in Python
MAX_CONTENT_CHARS = 20_000
MAX_TITLE_CHARS = 1_000
MAX_BATCH_ITEMS = 1_000


class Channel(StrEnum):
    """Where an appeal came in. A fixed list: free text here could carry a name or a phone number."""

    hotline = "12345"
    web = "web"
    app = "app"
    wechat = "wechat"
    weibo = "weibo"
    email = "email"
    mailbox = "mailbox"
    phone = "phone"
    sms = "sms"
    letter = "letter"
    visit = "visit"
    api = "api"
    other = "other"


CHANNELS = frozenset(c.value for c in Channel)


def safe_channel(value: str | None) -> str | None:
    """A stored channel as it may be shown or exported: rows written before the channel list existed
    may hold free text, which is masked."""
    if value is None or value in CHANNELS:
        return value
    from minyi_nlp.text import preprocess

    return preprocess(value)


class AppealIn(BaseModel):
    """One appeal: ``content`` is required; ``title`` and ``channel`` are optional."""

    model_config = _STRICT

    title: optional_text(MAX_TITLE_CHARS) = Field(None, description="subject line (optional)")
    content: appeal_text(MAX_CONTENT_CHARS) = Field(
        ..., description="the citizen's text, ≤ 20,000 characters, with at least one letter or digit")
    channel: Channel | None = Field(None, strict=False, description="where it came from (one of the listed channels)")



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


class UrgencyOut(BaseModel):
    """How urgent an appeal looks: the mixed score, the model's and the hazard lexicon's parts, the hazard
    kinds found (``hazards``: their Chinese names) and the words that named them."""

    score: float
    model: float | None = None
    lexicon: float
    kinds: list[str] = []
    hazards: list[str] = []
    terms: list[str] = []


class SuggestionOut(BaseModel):
    """A stored suggestion: ranked categories and routes (department type at a jurisdiction)."""

    id: uuid.UUID
    created_at: AwareDatetime
    model_version: str
    categories: list[CategoryOut]
    subcategories: list[SubcategoryOut] = []
    departments: list[DepartmentOut]
    appeal_type: str | None = None
    appeal_type_score: float | None = None
    due_at: AwareDatetime | None = None
    due_reason: str | None = None
    urgent: bool = False
    needs_review: bool
    review_reasons: list[str] = []
    keywords: list[str] = []
    jurisdiction: str | None = None
    jurisdiction_level: str | None = None
    urgency: UrgencyOut | None = None


class BatchOut(BaseModel):
    items: list[SuggestionOut]


def _whole_number(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer: so does the API (strict otherwise: no "2", no true)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _name(max_length: int) -> Any:
    """An optional name (a department, a place): null or absent means none; "" is not a name."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(clean_text)] | None


class DecisionIn(BaseModel):
    """The dispatcher's choice. ``accepted_rank`` (1-based) accepts the route at that rank; null (or
    absent) is an override and then ``department`` is required. With ``accepted_rank``, ``department``
    and ``jurisdiction`` may be omitted (taken from the route) but must match it when given (409
    otherwise). Department and place names are those of the lists (the document gives them)."""

    # "an accepted rank, or a department": said in the schema too, so that clients can check it
    model_config = ConfigDict(**_STRICT, json_schema_extra={"anyOf": [
        {"required": ["accepted_rank"], "properties": {"accepted_rank": {"type": "integer"}}},
        {"required": ["department"], "properties": {"department": {"type": "string"}}},
    ]})

    department: _name(200) = Field(None, description="a department type of GET /v1/departments")
    jurisdiction: _name(200) = Field(None, description="a place: city, district, county, street, or several")
    dispatcher: required_text(100) = Field(..., description="who decided (a name or staff id)")
    accepted_rank: Annotated[int | None, BeforeValidator(_whole_number)] = Field(None, ge=1, le=1_000)


class DecisionOut(BaseModel):
    suggestion_id: uuid.UUID
    department: str
    jurisdiction: str | None
    dispatcher: str
    accepted_rank: int | None
    accepted: bool
    decided_at: AwareDatetime


class StoredSuggestionOut(SuggestionOut):
    """``GET /v1/suggestions/{id}``: the suggestion, its masked text and the decision if any."""

    title: str | None = None
    content: str
    channel: str | None = None
    decision: DecisionOut | None = None
