"""Row validation of a mapped (canonical-shaped) frame and duplicate reporting.

Rules (``rule`` code → reason): ``id_empty``, ``content_empty``, ``content_too_long``,
``content_no_text`` (punctuation/symbols only after normalisation), ``category_missing`` /
``category_unknown`` (only when a label set is given), ``date_unparseable``. A row failing
several rules gets one reject line per rule. Nothing is dropped for being a duplicate.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from dateutil import parser as date_parser

REJECT_COLUMNS: tuple[str, ...] = ("source", "row", "rule", "field", "reason")
DUPLICATE_COLUMNS: tuple[str, ...] = ("kind", "group", "size", "row", "id", "category", "conflict", "content")

_MIN_YEAR, _MAX_YEAR = 1900, 2100
_CN_DATE = str.maketrans(
    {"年": "-", "月": "-", "日": " ", "号": " ", "时": ":", "点": ":", "分": ":", "秒": " "}
    | {"：": ":", "／": "/", "－": "-"}
)
_NON_TEXT = re.compile(r"[^\w]|_", re.UNICODE)
_TEXT_CHAR = re.compile(r"[^\W_]")  # what _NON_TEXT keeps
_CJK = re.compile("[\u4e00-\u9fff]")  # unified ideographs: NFKC-stable, \w, and OpenCC maps them to ideographs
#: every character that is, or NFKC-normalises to something holding, "<" or "&" (``normalize_text`` strips
#: HTML only when one of these is there; tests/data/test_validate_fast.py derives the set from Unicode)
HTML_TRIGGERS = "&<\ufe60\ufe64\uff06\uff1c"
_HTML_TRIGGER = re.compile("[" + re.escape(HTML_TRIGGERS) + "]")


@dataclass(frozen=True)
class Problem:
    """One failed rule for one row."""

    row: int
    rule: str
    field: str
    reason: str


def parse_datetime(value: object) -> datetime | None:
    """Parse a date/time leniently; ``None`` for missing, :class:`ValueError` if unrecognisable.

    Accepts ISO, ``2019/4/25 9:32:09``, US ``12/31/2016``, ``2019年4月25日 9时32分``, ``20190425``,
    and datetime objects. Tz-aware values are converted to UTC and returned naive. A year is
    required and must lie in 1900–2100 (so "5" or "March" are not dates).
    """
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if not text:
            return None
        cleaned = text.translate(_CN_DATE).strip().rstrip(":-")
        try:
            parsed = date_parser.parse(cleaned, default=datetime(1, 1, 1))
        except (ValueError, OverflowError) as err:
            raise ValueError(f"{text!r} is not a recognisable date") from err
        if not _MIN_YEAR <= parsed.year <= _MAX_YEAR:
            raise ValueError(f"{text!r} is not a recognisable date (no plausible year)")
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def content_key(text: str, normalized: str | None = None) -> str:
    """Duplicate key: normalised text with whitespace, punctuation and symbols removed, case-folded."""
    if normalized is None:
        from minyi_nlp.text import normalize_text

        normalized = normalize_text(text)
    return _NON_TEXT.sub("", normalized).casefold()


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def require_columns(path: object, required: Sequence[str], found: Sequence[str], *, context: str = "",
                    advice: str = "") -> None:
    """Raise :class:`DataError` naming the file, the missing columns (with close matches) and those found."""
    from minyi_nlp.data.schema import DataError

    found = [str(c) for c in found]
    missing = [c for c in required if c not in found]
    if not missing:
        return
    hints = []
    for col in missing:
        close = difflib.get_close_matches(col, found, n=1, cutoff=0.6)
        if close:
            hints.append(f"{col!r} -> did you mean {close[0]!r}?")
    raise DataError(
        f"{path}: missing required column(s) {missing}{context}; columns found: {found}"
        + (f" ({'; '.join(hints)})" if hints else "")
        + advice
    )


def has_text(content: str) -> bool:
    """Whether ``content_key(content)`` is non-empty: some letter, digit or CJK character survives
    normalisation. Without normalising when the text holds a CJK ideograph and nothing that could start
    HTML stripping (nothing else in ``normalize_text`` removes an ideograph)."""
    if _CJK.search(content) and not _HTML_TRIGGER.search(content):
        return True
    from minyi_nlp.text import normalize_text

    return _TEXT_CHAR.search(normalize_text(content)) is not None


def check_content(
    content: str | None, max_content_chars: int, *, key: bool = True
) -> tuple[str, tuple[str, str] | None]:
    """``(duplicate key, None)`` for a usable appeal text, else ``("", (rule, reason))``. With ``key=False``
    the text is only checked (the key returned is ``""``), which needs no normalisation for most texts."""
    if content is None or not content.strip():
        return "", ("content_empty", "content is empty")
    if len(content) > max_content_chars:
        return "", ("content_too_long", f"content has {len(content)} characters, limit {max_content_chars}")
    found = content_key(content) if key else ""
    if not (found if key else has_text(content)):
        return "", ("content_no_text", "content has no letter, digit or CJK character (punctuation/symbols only)")
    return found, None


def check_rows(
    frame: pd.DataFrame,
    *,
    max_content_chars: int,
    labels: Collection[str] | None = None,
    with_keys: bool = True,
) -> tuple[list[Problem], pd.Series, pd.Series]:
    """Apply the row rules to a mapped frame (string cells, ``row`` column set).

    Returns ``(problems, submitted_at parsed, content keys)``; the keys are ``""`` for rejected content,
    and for every row with ``with_keys=False`` (a caller that only needs the verdicts: the batch job).
    """

    allowed = sorted(labels) if labels is not None else None
    allowed_set = set(labels) if labels is not None else None
    problems: list[Problem] = []
    dates: list[datetime | None] = []
    keys: list[str] = []
    has_dates = "submitted_at" in frame.columns
    for rec in frame.itertuples(index=False):
        row = int(rec.row)
        key = ""
        if _is_missing(rec.id) or not str(rec.id).strip():
            problems.append(Problem(row, "id_empty", "id", "id is empty"))
        content = rec.content
        key, issue = check_content(None if _is_missing(content) else str(content), max_content_chars, key=with_keys)
        if issue is not None:
            problems.append(Problem(row, issue[0], "content", issue[1]))
        keys.append(key)
        if allowed_set is not None:
            category = rec.category
            if _is_missing(category):
                problems.append(
                    Problem(row, "category_missing", "category", f"category is empty; allowed: {allowed}")
                )
            elif category not in allowed_set:
                problems.append(
                    Problem(
                        row,
                        "category_unknown",
                        "category",
                        f"category {category!r} is not in the label set {allowed}",
                    )
                )
        parsed: datetime | None = None
        if has_dates:
            try:
                parsed = parse_datetime(rec.submitted_at)
            except ValueError as err:
                problems.append(Problem(row, "date_unparseable", "submitted_at", f"submitted_at {err}"))
        dates.append(parsed)
    return (
        problems,
        pd.to_datetime(pd.Series(dates, index=frame.index, dtype=object)).astype("datetime64[ns]"),
        pd.Series(keys, index=frame.index, dtype=object),
    )


def rejects_frame(source: str, problems: Iterable[Problem], original: pd.DataFrame) -> pd.DataFrame:
    """One line per problem: source, row, rule, field, reason, then the row's original values with
    personal data masked (``mask_pii``: a rejects file is a file like any other).

    ``original`` is the file as read, indexed 0..n-1 (row N is index N-1). Original columns that
    clash with the meta columns are prefixed ``orig.``.
    """
    from minyi_nlp.data.private import mask_frame

    probs = sorted(problems, key=lambda p: (p.row, p.rule))
    meta = pd.DataFrame(
        {
            "source": pd.Series([source] * len(probs), dtype="string"),
            "row": pd.Series([p.row for p in probs], dtype="int64"),
            "rule": pd.Series([p.rule for p in probs], dtype="string"),
            "field": pd.Series([p.field for p in probs], dtype="string"),
            "reason": pd.Series([p.reason for p in probs], dtype="string"),
        }
    )
    values = original.iloc[[p.row - 1 for p in probs]].reset_index(drop=True)
    if probs:  # a reason may quote a value ("submitted_at '…' is not a date"); nothing to mask in no rows
        meta, values = mask_frame(meta), mask_frame(values)
    values.columns = [f"orig.{c}" if c in REJECT_COLUMNS else str(c) for c in values.columns]
    return pd.concat([meta, values], axis=1)


def _groups(frame: pd.DataFrame, kind: str, by: pd.Series) -> list[pd.DataFrame]:
    mask = by.notna() & (by != "") & by.duplicated(keep=False)
    if not mask.any():
        return []
    sub = frame.loc[mask].copy()
    sub["_key"] = by[mask]
    sub["kind"] = kind
    codes, _ = pd.factorize(sub["_key"])  # numbered in order of first appearance
    sub["group"] = codes + 1
    sub["size"] = sub.groupby("_key")["_key"].transform("size")
    if "category" in sub.columns:
        distinct = sub.groupby("_key")["category"].transform(lambda s: s.dropna().nunique())
        sub["conflict"] = distinct > 1
    else:
        sub["conflict"] = False
    return [sub]


def find_duplicates(frame: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """Duplicate report over valid rows: identical content keys (``kind='content'``) and repeated ids.

    One line per duplicated row: kind, group (1-based, per kind), size, row, id, category,
    conflict (the group has more than one distinct category), content.
    """
    parts = _groups(frame, "content", keys) + _groups(frame, "id", frame["id"].astype(object))
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in DUPLICATE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    for col in ("id", "category", "content"):
        if col not in out.columns:
            out[col] = pd.NA
    out = out.sort_values(["kind", "group", "row"], kind="stable").reset_index(drop=True)
    return out[list(DUPLICATE_COLUMNS)]

