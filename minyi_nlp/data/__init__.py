"""Data in: read raw files, map them onto the canonical appeal schema, validate, report duplicates."""

from minyi_nlp.data.loader import (
    LoadResult,
    get_source,
    label_sets,
    load_file,
    load_source,
    load_table,
    source_specs,
    table_specs,
)
from minyi_nlp.data.readers import EncodingWarning, read_table
from minyi_nlp.data.schema import CANONICAL_COLUMNS, AppealRecord, DataError, SourceSpec, TableSpec
from minyi_nlp.data.validate import parse_datetime

__all__ = [
    "CANONICAL_COLUMNS",
    "AppealRecord",
    "DataError",
    "EncodingWarning",
    "LoadResult",
    "SourceSpec",
    "TableSpec",
    "get_source",
    "label_sets",
    "load_file",
    "load_source",
    "load_table",
    "parse_datetime",
    "read_table",
    "source_specs",
    "table_specs",
]
