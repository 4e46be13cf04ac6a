"""Input files of a batch job: discovery, fingerprint, row counts and chunked (streaming) reading.

Chunk boundaries depend only on the file and ``batch_size``: chunk ``c`` of a file holds its records
``c * batch_size + 1 … (c + 1) * batch_size`` (1-based, header excluded), so a re-run reads the same
chunks and a finished chunk can be skipped. CSV is read with ``pd.read_csv(chunksize=…)``, JSONL line
by line, Parquet with ``ParquetFile.iter_batches``, XLSX row by row with openpyxl in read-only mode;
only the job's columns are kept. Cells keep the semantics of :func:`minyi_nlp.data.read_table`
(text, empty cell → missing; Parquet native types).
"""

from __future__ import annotations

import codecs
import json
import logging
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from minyi_nlp.data.readers import FALLBACK_ENCODING, FORMATS, EncodingWarning
from minyi_nlp.data.readers import _json_cell as json_cell  # the loader's JSONL cell rule
from minyi_nlp.data.schema import DataError
from minyi_nlp.data.validate import require_columns

logger = logging.getLogger(__name__)

_SNIFF_BLOCK = 1 << 20


@dataclass(frozen=True)
class ColumnMap:
    """Input column names of the job's fields; ``title`` and ``category`` are used where present."""

    id: str = "id"
    content: str = "content"
    title: str = "title"
    category: str = "category"

    @property
    def required(self) -> tuple[str, str]:
        return (self.id, self.content)

    @property
    def wanted(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.id, self.title, self.content, self.category)))

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "content": self.content, "title": self.title, "category": self.category}


@dataclass(frozen=True)
class InputFile:
    """One input file; ``name`` (path relative to the input directory) is the ``source`` of its rows."""

    path: Path
    name: str
    format: str
    size: int
    mtime_ns: int
    encoding: str | None = None
    rows: int | None = None
    columns: tuple[str, ...] = field(default=())

    def fingerprint(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "size": self.size, "mtime_ns": self.mtime_ns}


@dataclass
class RawChunk:
    """A slice of one file as read: ``frame`` is indexed 0..n-1 and row ``first_row + i`` is index ``i``.

    ``errors`` lists records that could not be parsed at all (JSONL), as ``(row, reason)``.
    """

    index: int
    first_row: int
    frame: pd.DataFrame
    errors: list[tuple[int, str]] = field(default_factory=list)


def discover(path: Path, exclude: Collection[Path] = ()) -> list[InputFile]:
    """The input files: ``path`` itself, or every supported file under the directory (recursive, sorted).

    Hidden files/folders and the paths in ``exclude`` (and anything under them) are skipped.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_file():
        candidates = [(path, path.name)]
    else:
        skip = [Path(p).resolve() for p in exclude]
        candidates = []
        for p in sorted(path.rglob("*")):
            rel = p.relative_to(path)
            if not p.is_file() or any(part.startswith(".") for part in rel.parts):
                continue
            if p.suffix.lower() not in FORMATS:
                continue
            resolved = p.resolve()
            if any(resolved == s or s in resolved.parents for s in skip):
                continue
            candidates.append((p, rel.as_posix()))
        if not candidates:
            raise DataError(f"{path}: no CSV/JSONL/Parquet/XLSX files in this directory")
    files = []
    for p, name in candidates:
        fmt = FORMATS.get(p.suffix.lower())
        if fmt is None:
            raise DataError(f"{p}: unsupported file type {p.suffix!r}; supported: {', '.join(sorted(FORMATS))}")
        st = p.stat()
        files.append(InputFile(path=p, name=name, format=fmt, size=st.st_size, mtime_ns=st.st_mtime_ns))
    return sorted(files, key=lambda f: f.name)


def sniff_encoding(path: Path, encoding: str | None = None) -> str:
    """Encoding of a text file: ``encoding`` if given, else UTF-8 (BOM allowed) or GB18030 with a warning."""
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise DataError(f"{path}: unknown encoding {encoding!r}") from None
        return encoding
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as fh:
        while block := fh.read(_SNIFF_BLOCK):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as err:
                bad = offset + err.start
                break
            offset += len(block)
        else:
            try:
                decoder.decode(b"", final=True)
                return "utf-8-sig"
            except UnicodeDecodeError:
                bad = offset
    msg = (
        f"{path}: not UTF-8 (byte offset {bad}); decoded as {FALLBACK_ENCODING.upper()} "
        "(GBK-compatible). Pass --encoding to be explicit."
    )
    warnings.warn(msg, EncodingWarning, stacklevel=2)
    logger.warning(msg)
    return FALLBACK_ENCODING


def _csv_kwargs(encoding: str) -> dict[str, Any]:
    return {"encoding": encoding, "dtype": str, "keep_default_na": False, "na_values": [""]}


def read_columns(file: InputFile, encoding: str | None) -> tuple[str, ...]:
    """Column names of a file (for JSONL: the keys of the first parseable record)."""
    try:
        if file.format == "csv":
            header = pd.read_csv(file.path, nrows=0, **_csv_kwargs(encoding or "utf-8-sig"))
            return tuple(str(c) for c in header.columns)
        if file.format == "parquet":
            import pyarrow.parquet as pq

            return tuple(pq.read_schema(file.path).names)
        if file.format == "xlsx":
            return _xlsx_header(file.path)
    except DataError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{file.path}: cannot read the header ({err})") from None
    except Exception as err:  # pyarrow/openpyxl raise unrelated types
        raise DataError(f"{file.path}: not readable as {file.format} ({type(err).__name__}: {err})") from None
    with file.path.open(encoding=encoding or "utf-8-sig") as fh:
        for line in fh:
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    return tuple(str(k) for k in obj)
    return ()


def check_columns(file: InputFile, columns: ColumnMap) -> None:
    """:class:`DataError` naming the missing required columns (with close matches) of ``file``."""
    found = list(file.columns)
    if file.format == "jsonl" and not found:
        raise DataError(f"{file.path}: no JSON object found")
    require_columns(file.path, columns.required, found, advice=" (name them with --id-column/--content-column)")


def count_rows(file: InputFile, columns: ColumnMap) -> int:
    """Number of records (the same records :func:`iter_chunks` yields)."""
    if file.format == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(file.path).metadata.num_rows
    if file.format == "jsonl":
        with file.path.open(encoding=file.encoding) as fh:
            return sum(1 for line in fh if line.strip())
    if file.format == "csv":
        total = 0
        try:
            reader = pd.read_csv(
                file.path, usecols=[columns.id], chunksize=200_000, **_csv_kwargs(file.encoding or "utf-8-sig")
            )
            with reader:
                for chunk in reader:
                    total += len(chunk)
        except (pd.errors.ParserError, UnicodeDecodeError) as err:
            raise DataError(f"{file.path}: malformed CSV: {err}") from None
        return total
    return sum(len(c.frame) for c in iter_chunks(file, columns, 50_000))


def iter_chunks(file: InputFile, columns: ColumnMap, batch_size: int) -> Iterator[RawChunk]:
    """The file's records in chunks of ``batch_size`` (the last may be shorter), job columns only."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    readers = {"csv": _csv_chunks, "jsonl": _jsonl_chunks, "parquet": _parquet_chunks, "xlsx": _xlsx_chunks}
    yield from readers[file.format](file, columns, batch_size)


def _csv_chunks(file: InputFile, columns: ColumnMap, batch_size: int) -> Iterator[RawChunk]:
    wanted = set(columns.wanted)
    try:
        reader = pd.read_csv(
            file.path, usecols=lambda c: c in wanted, chunksize=batch_size, **_csv_kwargs(file.encoding or "utf-8-sig")
        )
        with reader:
            for index, chunk in enumerate(reader):
                frame = chunk.reset_index(drop=True).astype("string")
                yield RawChunk(index, index * batch_size + 1, frame)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{file.path}: malformed CSV: {err}") from None


def _jsonl_chunks(file: InputFile, columns: ColumnMap, batch_size: int) -> Iterator[RawChunk]:
    wanted = columns.wanted
    records: list[dict[str, object]] = []
    errors: list[tuple[int, str]] = []
    row = index = 0
    with file.path.open(encoding=file.encoding) as fh:
        for line in fh:
            if not line.strip():
                continue
            row += 1
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError(f"a JSON {type(obj).__name__}, expected an object")
            except ValueError as err:
                reason = err.msg if isinstance(err, json.JSONDecodeError) else str(err)
                errors.append((row, f"line is not a JSON object ({reason}): {line.strip()[:120]!r}"))
                obj = {}
            records.append({c: json_cell(obj.get(c)) for c in wanted})
            if len(records) == batch_size:
                yield _records_chunk(index, batch_size, records, errors, wanted)
                index += 1
                records, errors = [], []
    if records:
        yield _records_chunk(index, batch_size, records, errors, wanted)


def _records_chunk(
    index: int, batch_size: int, records: list[dict[str, object]], errors: list[tuple[int, str]], cols: tuple[str, ...]
) -> RawChunk:
    frame = pd.DataFrame.from_records(records, columns=list(cols)).astype("string")
    return RawChunk(index, index * batch_size + 1, frame, errors)


def _parquet_chunks(file: InputFile, columns: ColumnMap, batch_size: int) -> Iterator[RawChunk]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(file.path)
    names = [c for c in columns.wanted if c in pf.schema_arrow.names]
    # iter_batches may cut at row-group edges: re-slice so chunk boundaries depend on batch_size only
    pending: list[pd.DataFrame] = []
    have = index = 0
    for batch in pf.iter_batches(batch_size=batch_size, columns=names):
        pending.append(batch.to_pandas())
        have += batch.num_rows
        while have >= batch_size:
            frame = pd.concat(pending, ignore_index=True)
            yield RawChunk(index, index * batch_size + 1, frame.iloc[:batch_size].reset_index(drop=True))
            index += 1
            rest = frame.iloc[batch_size:].reset_index(drop=True)
            pending, have = ([rest] if len(rest) else []), len(rest)
    if have:
        yield RawChunk(index, index * batch_size + 1, pd.concat(pending, ignore_index=True))


def _xlsx_cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value if value.strip() else None
    return str(value)


def _open_sheet(path: Path) -> Any:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # zip/openpyxl errors have no common base
        raise DataError(f"{path}: not a readable .xlsx workbook ({type(err).__name__}: {err})") from None
    return book


def _data_sheet(book: Any, path: Path) -> Any:
    """The one sheet that holds data (the first if none does); several are an error naming them, so
    that a second sheet is never skipped in silence (split the workbook, or give one sheet per file)."""
    used = [ws for ws in book.worksheets
            if any(v is not None for row in ws.iter_rows(max_row=1, values_only=True) for v in row)]
    if len(used) > 1:
        raise DataError(f"{path}: the workbook has {len(used)} sheets with data ({[ws.title for ws in used]}); "
                        "a batch job reads one sheet per file: save each sheet as its own file")
    return used[0] if used else book.worksheets[0]


def _xlsx_header(path: Path) -> tuple[str, ...]:
    book = _open_sheet(path)
    try:
        for row in _data_sheet(book, path).iter_rows(max_row=1, values_only=True):
            return tuple(str(v) for v in row if v is not None)
        return ()
    finally:
        book.close()


def _xlsx_chunks(file: InputFile, columns: ColumnMap, batch_size: int) -> Iterator[RawChunk]:
    """Rows of the sheet with data; row N is Excel row N + 1; trailing empty rows are not records."""
    book = _open_sheet(file.path)
    try:
        rows = _data_sheet(book, file.path).iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        names = [None if v is None else str(v) for v in header]
        keep = [(i, n) for i, n in enumerate(names) if n in set(columns.wanted)]
        cols = [n for _, n in keep]
        records: list[list[object]] = []
        blanks: list[list[object]] = []
        index = 0
        for values in rows:
            cells = [_xlsx_cell(values[i]) if i < len(values) else None for i, _ in keep]
            if all(v is None for v in values):
                blanks.append(cells)
                continue
            for rec in [*blanks, cells]:
                records.append(rec)
                if len(records) == batch_size:
                    frame = pd.DataFrame(records, columns=cols, dtype=object).astype("string")
                    yield RawChunk(index, index * batch_size + 1, frame)
                    index += 1
                    records = []
            blanks = []
        if records:
            frame = pd.DataFrame(records, columns=cols, dtype=object).astype("string")
            yield RawChunk(index, index * batch_size + 1, frame)
    finally:
        book.close()
