"""Validate one chunk with the loader's row rules (:func:`minyi_nlp.data.validate.check_rows`).

The chunk is mapped onto the canonical columns exactly as :func:`minyi_nlp.data.load_file` maps a
whole file, so a row is rejected in a batch job for the same reasons (``id_empty``, ``content_empty``,
``content_too_long``, ``content_no_text``, ``date_unparseable``) and the rejects have the same
columns (source, row, rule, field, reason, then the original values). A previous ``category`` is not
checked against a label set: it may come from an older taxonomy. Records that could not be parsed
at all (a malformed JSONL line) are rejected with rule ``record_unparseable``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from minyi_nlp.batch.sources import ColumnMap, RawChunk
from minyi_nlp.data.loader import _map_columns  # the loader's own column mapping (see module docstring)
from minyi_nlp.data.schema import SourceSpec
from minyi_nlp.data.validate import Problem, check_rows, rejects_frame

#: columns of a validated chunk, in this order
VALID_COLUMNS: tuple[str, ...] = ("id", "source", "row", "title", "content", "category")


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
    spec = SourceSpec(name=source, path=source, columns=mapping)
    mapped = _map_columns(raw, spec)
    problems, _, _ = check_rows(mapped, max_content_chars=max_content_chars, labels=None, with_keys=False)
    if chunk.errors:  # an unparseable record fails only that rule, not the empty-field ones too
        broken = {row - chunk.first_row + 1: reason for row, reason in chunk.errors}
        problems = [p for p in problems if p.row not in broken]
        problems += [Problem(row, "record_unparseable", "record", reason) for row, reason in broken.items()]
    offset = chunk.first_row - 1
    rejects = rejects_frame(source, problems, raw)
    rejects["row"] = rejects["row"] + offset
    bad = {p.row for p in problems}
    valid = mapped.loc[~mapped["row"].isin(bad), list(VALID_COLUMNS)].reset_index(drop=True)
    valid["row"] = valid["row"].astype("int64") + offset
    for col in ("id", "source", "title", "content", "category"):
        valid[col] = valid[col].astype("string")
    return CheckedChunk(valid=valid, rejects=rejects, rows_read=len(raw))
