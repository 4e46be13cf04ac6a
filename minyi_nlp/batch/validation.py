"""Validate one chunk with the loader's row rules (:func:`minyi_nlp.data.validate.check_rows`).

The chunk is mapped onto the canonical columns exactly as :func:`minyi_nlp.data.load_file` maps a
whole file, so a row is rejected in a batch job for the same reasons (``id_empty``, ``content_empty``,
``content_too_long``, ``content_no_text``, ``date_unparseable``) and the rejects have the same
columns (source, row, rule, field, reason, then the original values). A previous ``category`` is not
checked against a label set: it may come from an older taxonomy. Records that could not be parsed
at all (a malformed JSONL line) are rejected with rule ``record_unparseable``.

Text columns held by pyarrow (CSV, JSONL and XLSX chunks, Parquet strings) are mapped and checked in
pyarrow: cells are stripped as ``str.strip`` strips them, and only the rows that are not plainly valid
(an empty id or content, more bytes than ``max_content_chars``, no CJK ideograph or a character that
may start HTML) go through the loader's content check as Python strings; the valid rows stay pyarrow
arrays. Other chunks go through the loader's mapping row by row; both give the same valid rows and
reject lines.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from minyi_nlp.batch.sources import ColumnMap, RawChunk
from minyi_nlp.data.loader import _map_columns  # the loader's own column mapping (see module docstring)
from minyi_nlp.data.schema import SourceSpec
from minyi_nlp.data.validate import _CJK, HTML_TRIGGERS, Problem, check_content, check_rows, rejects_frame

#: columns of a validated chunk, in this order
VALID_COLUMNS: tuple[str, ...] = ("id", "source", "row", "title", "content", "category")

#: the characters ``str.strip()`` removes (``str.isspace``; a test checks this against every code point)
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_TEXT = pa.large_string()  # what ``astype("string")`` holds

Strings = pa.Array | pa.ChunkedArray


def utf8_byte_patterns(chars: str) -> list[str]:
    """RE2 patterns over bytes that together find any of ``chars`` in UTF-8 text: one per first byte, so
    that RE2 skips from one such byte to the next (memchr) instead of reading every byte."""
    tails: dict[int, list[bytes]] = {}
    for char in chars:
        code = char.encode("utf-8")
        tails.setdefault(code[0], []).append(code[1:])

    def hex_bytes(data: bytes) -> str:
        return "".join(f"\\x{b:02x}" for b in data)

    return [
        hex_bytes(bytes([first])) + (f"(?:{'|'.join(hex_bytes(t) for t in rest)})" if rest != [b""] else "")
        for first, rest in tails.items()
    ]


#: what ``has_text`` looks for before it accepts a text with a CJK ideograph as is
_HTML_BYTES = utf8_byte_patterns(HTML_TRIGGERS)


@dataclass
class CheckedChunk:
    """Valid rows (``VALID_COLUMNS``, ``row`` = 1-based record number in the file) and reject lines."""

    valid: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int

    @property
    def rejected_rows(self) -> int:
        return int(self.rejects["row"].nunique()) if len(self.rejects) else 0


def validate_chunk(
    chunk: RawChunk, *, source: str, columns: ColumnMap, max_content_chars: int
) -> CheckedChunk:
    """Split a raw chunk into valid rows and reject lines (row numbers relative to the whole file)."""
    raw = chunk.frame
    mapping = {
        field: col
        for field, col in columns.as_dict().items()
        if col in raw.columns or field in ("id", "content")
    }
    for col in (columns.id, columns.content):
        if col not in raw.columns:  # a JSONL file without the key anywhere in this chunk
            raw = raw.assign(**{col: pd.Series([pd.NA] * len(raw), dtype="string")})
    fields = _arrow_fields(raw, mapping)
    if fields is None:
        mapped = _map_columns(raw, SourceSpec(name=source, path=source, columns=mapping))
        problems, _, _ = check_rows(mapped, max_content_chars=max_content_chars, labels=None, with_keys=False)
    else:
        problems = _arrow_problems(fields["id"], fields["content"], max_content_chars)
    if chunk.errors:  # an unparseable record fails only that rule, not the empty-field ones too
        broken = {row - chunk.first_row + 1: reason for row, reason in chunk.errors}
        problems = [p for p in problems if p.row not in broken]
        problems += [Problem(row, "record_unparseable", "record", reason) for row, reason in broken.items()]
    offset = chunk.first_row - 1
    if problems or fields is None:
        rejects = rejects_frame(source, problems, raw)
        rejects["row"] = rejects["row"] + offset
    else:  # most chunks: the same empty frame, made once per source and text columns
        rejects = _no_rejects(source, tuple(str(c) for c in raw.columns), tuple(raw.dtypes)).copy()
    bad = {p.row for p in problems}
    if fields is not None:
        return CheckedChunk(_arrow_valid(fields, bad, len(raw), source, offset), rejects, len(raw))
    valid = mapped.loc[~mapped["row"].isin(bad), list(VALID_COLUMNS)].reset_index(drop=True)
    valid["row"] = valid["row"].astype("int64") + offset
    for col in ("id", "source", "title", "content", "category"):
        valid[col] = valid[col].astype("string")
    return CheckedChunk(valid=valid, rejects=rejects, rows_read=len(raw))


@functools.lru_cache(maxsize=64)
def _no_rejects(source: str, columns: tuple[str, ...], dtypes: tuple[object, ...]) -> pd.DataFrame:
    """``rejects_frame(source, [], raw)`` for a chunk with these columns and dtypes (do not modify it)."""
    empty = pd.DataFrame({i: pd.Series([], dtype=d) for i, d in enumerate(dtypes)}).set_axis(list(columns), axis=1)
    return rejects_frame(source, [], empty)


def _arrow_fields(raw: pd.DataFrame, mapping: Mapping[str, str]) -> dict[str, Strings] | None:
    """The mapped fields as ``_map_columns`` makes them (stripped text, blank → null), computed in
    pyarrow; ``None`` unless every mapped column is pyarrow-backed text."""
    if not raw.columns.is_unique:
        return None
    series = {field: raw[col] for field, col in mapping.items()}
    if not all(isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow" for s in series.values()):
        return None
    fields = {}
    for field, s in series.items():
        text = pc.utf8_trim(pa.array(s.array).cast(_TEXT), characters=PY_WHITESPACE)
        blank = pc.equal(pc.binary_length(text), 0)
        fields[field] = pc.if_else(blank, pa.scalar(None, _TEXT), text) if pc.any(blank).as_py() else text
    return fields


def _arrow_problems(ids: Strings, contents: Strings, max_content_chars: int) -> list[Problem]:
    """The problems :func:`check_rows` finds in the mapped rows. Plainly valid rows are told apart in
    pyarrow: an id, and a content of at most ``max_content_chars`` bytes (so characters) holding a CJK
    ideograph and nothing that may start HTML (``has_text`` accepts it as is); the other rows are checked
    by :func:`check_content` as Python strings."""
    as_bytes = contents.cast(pa.large_binary())
    html = functools.reduce(pc.or_, [pc.match_substring_regex(as_bytes, p) for p in _HTML_BYTES])
    plain = pc.and_(pc.match_substring_regex(contents, _CJK.pattern), pc.invert(html))
    plain = pc.and_(pc.less_equal(pc.binary_length(contents), max_content_chars), plain)
    plain = pc.and_(pc.fill_null(plain, False), pc.is_valid(ids))
    check = pa.array(np.flatnonzero(~plain.to_numpy(zero_copy_only=False)))
    problems = []
    no_id = pc.is_null(ids.take(check)).to_pylist()
    for i, missing, text in zip(check.to_pylist(), no_id, contents.take(check).to_pylist(), strict=True):
        if missing:
            problems.append(Problem(i + 1, "id_empty", "id", "id is empty"))  # as check_rows
        _, issue = check_content(text, max_content_chars, key=False)
        if issue is not None:
            problems.append(Problem(i + 1, issue[0], "content", issue[1]))
    return problems


def _arrow_valid(fields: Mapping[str, Strings], bad: set[int], n: int, source: str, offset: int) -> pd.DataFrame:
    """The valid rows (``VALID_COLUMNS``) as the row-by-row path makes them."""
    keep = np.ones(n, dtype=bool)
    keep[[row - 1 for row in bad]] = False
    mask = pa.array(keep)

    def text(values: Strings) -> pd.arrays.ArrowStringArray:
        return pd.arrays.ArrowStringArray((values.filter(mask) if bad else values).cast(_TEXT))

    data = {
        "id": text(fields["id"]),
        "source": text(pa.array([source] * n, _TEXT)),
        "row": np.flatnonzero(keep).astype("int64") + (offset + 1),
    }
    for field in ("title", "content", "category"):
        data[field] = text(fields[field] if field in fields else pa.nulls(n, _TEXT))
    return pd.DataFrame({c: data[c] for c in VALID_COLUMNS})
