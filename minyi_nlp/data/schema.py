"""Canonical appeal schema, the declared-source spec and the data error type.

Every source (a raw file, a user's CSV) is mapped onto one canonical frame:

========================  ===========  ==============================================
column                    dtype        meaning
========================  ===========  ==============================================
``id``                    string       required; from a column or generated ``<source>:<row>``
``source``                string       name of the source the row came from
``row``                   int64        1-based data row number in the source (header excluded)
``title``                 string       optional subject line
``content``               string       required citizen text (edges stripped, otherwise raw)
``submitted_at``          datetime64   optional, naive (tz-aware values converted to UTC)
``channel``               string       optional intake channel (网站, 电话 …)
``category``              string       optional topic label (一级分类)
``department``            string       optional handling unit as written in the source
``district``              string       optional jurisdiction
``appeal_type``           string       optional 投诉/咨询/建议/举报/求助
========================  ===========  ==============================================

followed by the source's declared ``extra`` columns (strings). Row numbering: row ``N`` is the
N-th data record after the header (for a spreadsheet, Excel row ``N + 1``; for a CSV with quoted
multi-line fields it is the record, not the physical line; blank lines of a CSV or JSONL are not
records and are not counted).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class DataError(ValueError):
    """A file or declared source cannot be read as asked (file-level, not row-level)."""


#: canonical fields a source may map (``source`` and ``row`` are set by the loader)
MAPPABLE_FIELDS: tuple[str, ...] = (
    "id",
    "title",
    "content",
    "submitted_at",
    "channel",
    "category",
    "department",
    "district",
    "appeal_type",
)
#: column order of the canonical frame (extras follow)
CANONICAL_COLUMNS: tuple[str, ...] = ("id", "source", "row", *MAPPABLE_FIELDS[1:])
STRING_FIELDS: tuple[str, ...] = tuple(c for c in CANONICAL_COLUMNS if c not in ("row", "submitted_at"))
GENERATED = "generated"


class AppealRecord(BaseModel):
    """One canonical appeal (e.g. a request body or one row of the canonical frame)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    content: str = Field(min_length=1)
    title: str | None = None
    submitted_at: datetime | None = None
    channel: str | None = None
    category: str | None = None
    department: str | None = None
    district: str | None = None
    appeal_type: str | None = None
    source: str | None = None
    row: int | None = None


class _FileSpec(BaseModel):
    """A declared file under ``data/raw``: its name, path (relative to the raw folder) and how to read it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    path: str
    format: Literal["csv", "xlsx", "jsonl", "parquet"] | None = None
    sheet: str | int | None = None
    encoding: str | None = None
    description: str = ""

    def resolve_path(self, raw_dir: Path) -> Path:
        path = Path(self.path)
        return path if path.is_absolute() else raw_dir / path


class SourceSpec(_FileSpec):
    """A declared source: where the file is and how its columns map onto the canonical fields.

    ``columns`` maps a canonical field to one source column or a list of columns (their non-empty,
    stripped values are concatenated with ``""``). ``id: generated`` gives ids ``<name>:<row>``.
    ``extra`` carries further columns through: a list keeps their names, a mapping renames
    (``{new_name: source_column}``). ``labels`` is the expected label set of ``category``.
    """

    id: Literal["generated"] | None = None
    columns: dict[str, str | list[str]]
    extra: dict[str, str] = Field(default_factory=dict)
    pretokenized: bool = False
    labels: tuple[str, ...] | None = None

    @field_validator("extra", mode="before")
    @classmethod
    def _extra_as_mapping(cls, value: object) -> object:
        if value is None:
            return {}
        if isinstance(value, list | tuple):
            return {str(c): str(c) for c in value}
        return value

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = sorted(set(value) - set(MAPPABLE_FIELDS))
        if unknown:
            raise ValueError(f"unknown canonical field(s) {unknown}; allowed: {list(MAPPABLE_FIELDS)}")
        if "content" not in value:
            raise ValueError("columns must map 'content'")
        for field, cols in value.items():
            if isinstance(cols, list) and not cols:
                raise ValueError(f"columns.{field} is an empty list")
        return value

    @model_validator(mode="after")
    def _id_and_extra(self) -> SourceSpec:
        has_col = "id" in self.columns
        if has_col == (self.id == GENERATED):
            raise ValueError(f"source {self.name!r}: map columns.id or declare 'id: generated' (exactly one)")
        clash = sorted(set(self.extra) & set(CANONICAL_COLUMNS))
        if clash:
            raise ValueError(f"source {self.name!r}: extra name(s) {clash} clash with canonical columns")
        return self

    @property
    def generated_id(self) -> bool:
        return self.id == GENERATED

    def source_columns(self, field: str) -> list[str]:
        """The source column(s) mapped to ``field`` (empty list if unmapped)."""
        cols = self.columns.get(field)
        if cols is None:
            return []
        return [cols] if isinstance(cols, str) else list(cols)

    def required_columns(self) -> list[str]:
        """Every source column the spec names (mapped fields and extras), in declaration order."""
        seen: dict[str, None] = {}
        for field in self.columns:
            for col in self.source_columns(field):
                seen.setdefault(col, None)
        for col in self.extra.values():
            seen.setdefault(col, None)
        return list(seen)


def empty_canonical_frame(extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes."""
    data: dict[str, pd.Series] = {}
    for col in CANONICAL_COLUMNS:
        if col == "row":
            data[col] = pd.Series([], dtype="int64")
        elif col == "submitted_at":
            data[col] = pd.Series([], dtype="datetime64[ns]")
        else:
            data[col] = pd.Series([], dtype="string")
    for col in extra:
        data[col] = pd.Series([], dtype="string")
    return pd.DataFrame(data)


class TableSpec(_FileSpec):
    """A declared reference table that is not an appeal source (e.g. a category taxonomy)."""

    columns: list[str]
