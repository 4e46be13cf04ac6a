"""Read a table (CSV, XLSX, JSONL, Parquet) into a DataFrame of strings, with clear errors.

Cells are read as text (``None``/NA for an empty cell) so nothing is reinterpreted before
validation; Parquet keeps its native types. CSV follows RFC 4180 (quoted fields may span lines).
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from pathlib import Path

import pandas as pd

from minyi_nlp.data.schema import DataError

logger = logging.getLogger(__name__)

FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
FALLBACK_ENCODING = "gb18030"  # superset of GBK / GB2312


class EncodingWarning(UserWarning):
    """A CSV was not UTF-8 and was decoded with a fallback encoding."""


def detect_format(path: Path, fmt: str | None = None) -> str:
    """The table format: ``fmt`` if given, else from the file suffix."""
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt not in set(FORMATS.values()):
            known = sorted(set(FORMATS.values()))
            raise DataError(f"{path}: unknown format {fmt!r}; expected one of {known}")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise DataError(
            f"{path}: cannot tell the format from suffix {path.suffix!r}; "
            f"supported: {', '.join(sorted(FORMATS))} (or pass the format explicitly)"
        ) from None


def decode_bytes(data: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode file bytes; returns ``(text, encoding used)``.

    With no ``encoding``: UTF-8 (BOM optional), else GB18030 with an :class:`EncodingWarning`.
    """
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except LookupError:
            raise DataError(f"{path}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as err:
            raise DataError(
                f"{path}: not valid {encoding} at byte offset {err.start} ({err.reason}); "
                "pass the right --encoding"
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as utf8_err:
        offset = utf8_err.start
        try:
            text = data.decode(FALLBACK_ENCODING)
        except UnicodeDecodeError:
            raise DataError(
                f"{path}: not valid UTF-8 (byte offset {utf8_err.start}: {utf8_err.reason}) "
                f"nor {FALLBACK_ENCODING.upper()}; pass the file's encoding with --encoding "
                "(e.g. --encoding utf-16)"
            ) from None
    msg = (
        f"{path}: not UTF-8 (byte offset {offset}); decoded as {FALLBACK_ENCODING.upper()} "
        "(GBK-compatible). Pass --encoding to be explicit."
    )
    warnings.warn(msg, EncodingWarning, stacklevel=3)
    logger.warning(msg)
    return text, FALLBACK_ENCODING


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    text, _ = decode_bytes(path.read_bytes(), path, encoding)
    if not text.strip():
        raise DataError(f"{path}: file is empty")
    try:
        return pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: malformed CSV: {err}") from None


SHEET_COLUMN = "_sheet"  # names the sheet of each row when a workbook's sheets are read together


def _read_xlsx(path: Path, sheet: str | int | None) -> pd.DataFrame:
    """One sheet (``sheet`` given), else every sheet that holds data: alone, or, when several do and
    they share one header row, one after the other with ``_sheet`` naming each row's sheet. Sheets
    with different headers are an error that names them: no sheet is ever dropped in silence."""
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as err:  # zip/openpyxl errors have no common base
        raise DataError(f"{path}: not a readable .xlsx workbook ({type(err).__name__}: {err})") from None
    with book:
        names = book.sheet_names
        if sheet is None:
            frames = {name: pd.read_excel(book, sheet_name=name, dtype=str, keep_default_na=False, na_values=[""])
                      for name in names}
            used = {name: f for name, f in frames.items() if len(f.columns)}
            if not used:
                raise DataError(f"{path}: every sheet is empty ({names})")
            if len(used) == 1:
                return next(iter(used.values()))
            headers = {name: list(map(str, f.columns)) for name, f in used.items()}
            if len({tuple(h) for h in headers.values()}) > 1:
                raise DataError(f"{path}: the workbook has {len(used)} sheets with data and different columns "
                                f"({headers}); choose one sheet (sheet=NAME) or give them one header row")
            logger.warning("%s: reading all %d sheets %s (same columns); column %s names each row's sheet",
                        path, len(used), list(used), SHEET_COLUMN)
            return pd.concat([f.assign(**{SHEET_COLUMN: name}) for name, f in used.items()], ignore_index=True)
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise DataError(f"{path}: no sheet number {sheet}; the workbook has sheets {names}")
        elif sheet not in names:
            raise DataError(f"{path}: no sheet named {sheet!r}; the workbook has sheets {names}")
        frame = pd.read_excel(book, sheet_name=sheet, dtype=str, keep_default_na=False, na_values=[""])
    if frame.empty and len(frame.columns) == 0:
        raise DataError(f"{path}: sheet {sheet!r} is empty")
    return frame


def _json_cell(value: object) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_jsonl(path: Path, encoding: str | None) -> pd.DataFrame:
    text, _ = decode_bytes(path.read_bytes(), path, encoding)
    records: list[dict[str, object]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: line {lineno} is not valid JSON ({err.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}: line {lineno} is a JSON {type(obj).__name__}, expected an object")
        records.append({str(k): _json_cell(v) for k, v in obj.items()})
    if not records:
        raise DataError(f"{path}: file is empty")
    return pd.DataFrame.from_records(records)


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as pandas ``string`` dtype (missing cells -> ``<NA>``), on pandas 2 and 3 alike."""
    return frame.astype("string")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # pyarrow raises several unrelated types
        raise DataError(f"{path}: not a readable Parquet file ({type(err).__name__}: {err})") from None


def read_table(
    path: str | Path,
    fmt: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a CSV, XLSX, JSONL or Parquet file; all columns as strings except Parquet's native types.

    ``fmt`` defaults to the suffix; ``sheet`` (name or 0-based index) is for XLSX: without it, the one
    sheet that holds data, or all of them when they share a header (see :func:`_read_xlsx`);
    ``encoding`` for CSV/JSONL (default: UTF-8 with GB18030 fallback and a warning).
    Raises :class:`DataError` for a missing/empty file, unknown format, missing sheet, bad encoding.
    """
    path = Path(path)
    kind = detect_format(path, fmt)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    if kind == "parquet":
        return _read_parquet(path)
    if kind == "csv":
        frame = _read_csv(path, encoding)
    elif kind == "xlsx":
        frame = _read_xlsx(path, sheet)
    else:
        frame = _read_jsonl(path, encoding)
    return _as_text(frame)
