"""Input files of a batch job: discovery, fingerprint, row counts and chunked (streaming) reading.

Chunk boundaries depend only on the file and ``batch_size``: chunk ``c`` of a file holds its records
``c * batch_size + 1 … (c + 1) * batch_size`` (1-based, header excluded), so a re-run reads the same
chunks and a finished chunk can be skipped. CSV is read by pyarrow, in pieces of whole records, where
that gives what ``pd.read_csv(chunksize=…)`` gives, else (ragged rows, duplicate or empty header names,
an unclosed quote, another encoding, …) by pandas itself, from the chunk where pyarrow stopped; JSONL
line by line, Parquet with ``ParquetFile.iter_batches``, XLSX row by row with openpyxl in read-only mode;
only the job's columns are kept. Cells keep the semantics of :func:`minyi_nlp.data.read_table` (text,
empty cell → missing; Parquet native types).
"""

from __future__ import annotations

import codecs
import json
import logging
import re
import warnings
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from minyi_nlp.data.readers import FALLBACK_ENCODING, FORMATS, EncodingWarning
from minyi_nlp.data.readers import _json_cell as json_cell  # the loader's JSONL cell rule
from minyi_nlp.data.schema import DataError
from minyi_nlp.data.validate import require_columns

logger = logging.getLogger(__name__)

_SNIFF_BLOCK = 1 << 20
#: encodings of the CSV files that pyarrow reads (UTF-8 itself, skipping a BOM as pandas does; GB18030 and
#: GBK decoded by Python's codec, as pandas decodes them)
_ARROW_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "gb18030", "gbk"})
_BLOCK = 1 << 19  # bytes read at a time; pyarrow parses them in pieces of whole records
_MAX_PIECE = 64 << 20  # a record longer than this: pandas reads the file
#: every field of a record appended to each piece pyarrow parses: read back last, it shows that the piece
#: did not end inside a quoted field (at the end of the file, pandas: "EOF inside string")
_END_MARK = "\x01minyi: end of piece\x01"
_LONE_CR = re.compile(rb"\r(?=[^\n])")


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
        try:
            return sum(t.num_rows for t in _arrow_csv_tables(file, (columns.id,), 200_000))
        except _NotArrow:
            return _pandas_csv_count(file, columns)
    return sum(len(c.frame) for c in iter_chunks(file, columns, 50_000))


def iter_chunks(file: InputFile, columns: ColumnMap, batch_size: int) -> Iterator[RawChunk]:
    """The file's records in chunks of ``batch_size`` (the last may be shorter), job columns only."""
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    readers = {"csv": _csv_chunks, "jsonl": _jsonl_chunks, "parquet": _parquet_chunks, "xlsx": _xlsx_chunks}
    yield from readers[file.format](file, columns, batch_size)


def _csv_chunks(file: InputFile, columns: ColumnMap, batch_size: int) -> Iterator[RawChunk]:
    done = 0
    try:
        for table in _arrow_csv_tables(file, columns.wanted, batch_size):
            frame = pd.DataFrame({c: pd.arrays.ArrowStringArray(table.column(c)) for c in table.column_names})
            yield RawChunk(done, done * batch_size + 1, frame)
            done += 1
        return
    except _NotArrow as why:  # before the first chunk, or where pyarrow stopped: pandas goes on from there
        logger.debug("%s: read by pandas from chunk %d (%s)", file.path, done, why)
    for chunk in _pandas_csv_chunks(file, columns, batch_size):
        if chunk.index >= done:
            yield chunk


def _pandas_csv_frames(file: InputFile, usecols: Any, chunksize: int) -> Iterator[pd.DataFrame]:
    """``pd.read_csv(chunksize=…)`` of the file, a parse or decoding error as a :class:`DataError`."""
    try:
        reader = pd.read_csv(file.path, usecols=usecols, chunksize=chunksize,
                             **_csv_kwargs(file.encoding or "utf-8-sig"))
        with reader:
            yield from reader
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(f"{file.path}: malformed CSV: {err}") from None


def _pandas_csv_chunks(file: InputFile, columns: ColumnMap, batch_size: int) -> Iterator[RawChunk]:
    wanted = set(columns.wanted)
    for index, chunk in enumerate(_pandas_csv_frames(file, lambda c: c in wanted, batch_size)):
        yield RawChunk(index, index * batch_size + 1, chunk.reset_index(drop=True).astype("string"))


def _pandas_csv_count(file: InputFile, columns: ColumnMap) -> int:
    return sum(len(chunk) for chunk in _pandas_csv_frames(file, [columns.id], 200_000))


class _NotArrow(Exception):
    """pyarrow would not read this CSV as pandas does, or cannot read it: pandas reads it."""


def _arrow_csv_tables(file: InputFile, wanted: Collection[str], batch_size: int) -> Iterator[pa.Table]:
    """The CSV's records as :func:`_pandas_csv_chunks` reads them, read by pyarrow: tables of ``batch_size``
    rows (the last may be shorter; one empty table for a file without records), the ``wanted`` columns in
    file order as ``large_string``, an empty cell null. Raises :class:`_NotArrow` where pandas would read
    the file otherwise or fail: before the first table, or where pyarrow meets what it cannot read.
    """
    encoding = file.encoding or "utf-8-sig"
    try:
        codec = codecs.lookup(encoding).name
        header = [str(c) for c in pd.read_csv(file.path, nrows=0, **_csv_kwargs(encoding)).columns]
    except Exception as err:  # pandas will say why, or read the file after all
        raise _NotArrow(f"{type(err).__name__}: {err}") from None
    wanted = set(wanted)
    cols = [c for c in header if c in wanted]
    if codec not in _ARROW_ENCODINGS or len(header) < 2 or not cols:  # one column: pandas skips blank-ish lines
        raise _NotArrow(f"encoding {encoding}, columns {header}")
    pending: list[pa.Table] = []
    have = sent = 0
    for piece in _arrow_csv_pieces(file.path, codec, header):
        pending.append(piece.select(cols))
        have += piece.num_rows
        while have >= batch_size:
            table = pa.concat_tables(pending)
            yield table.slice(0, batch_size).combine_chunks()
            sent += 1
            pending, have = [table.slice(batch_size)], have - batch_size
    if have or not sent:
        yield pa.concat_tables(pending).combine_chunks()


def _arrow_csv_pieces(path: Path, codec: str, header: list[str]) -> Iterator[pa.Table]:
    """The CSV's records, every column as text, parsed by pyarrow one piece of whole lines
    (:func:`_whole_lines`) at a time, each piece as one block: between the blocks of pyarrow's streaming
    reader a quoted CRLF may lose its LF. Raises :class:`_NotArrow` at a header that pyarrow reads otherwise
    than pandas (duplicate or empty names), a row it cannot parse (ragged, not text) and a piece or file
    that ends inside a quoted field (told by the end record appended to each piece)."""
    import pyarrow.csv as pcsv

    end = ("\n" + ",".join([_END_MARK] * len(header)) + "\n").encode("ascii")
    parse = pcsv.ParseOptions(newlines_in_values=True)
    convert = pcsv.ConvertOptions(  # every column, so checked as text: pandas decodes the whole file
        column_types=dict.fromkeys(header, pa.large_string()), null_values=[""], strings_can_be_null=True
    )
    for index, (lines, last) in enumerate(_whole_lines(_utf8_blocks(path, codec))):
        # the first piece starts with the header; a later one with a blank line, lest pyarrow take a
        # BOM that starts it for the file's
        piece = b"".join((b"\n" if index else b"", *lines, end))
        names = header if index else None
        read = pcsv.ReadOptions(use_threads=False, block_size=len(piece) + 1, column_names=names)
        try:
            table = pcsv.read_csv(pa.py_buffer(piece), read_options=read, parse_options=parse, convert_options=convert)
        except pa.ArrowException as err:
            raise _NotArrow(f"{type(err).__name__}: {err}") from None
        if table.column_names != header:  # pandas renames duplicate and empty names
            raise _NotArrow(f"pyarrow reads the header as {table.column_names}")
        if not table.num_rows or set(table.slice(table.num_rows - 1).to_pylist()[0].values()) != {_END_MARK}:
            raise _NotArrow(f"{'the file' if last else 'a piece'} ends inside a quoted field")
        yield table.slice(0, table.num_rows - 1)


def _whole_lines(blocks: Iterator[tuple[bytes, bool]]) -> Iterator[tuple[list[bytes | memoryview], bool]]:
    """``(parts, last)``: the text of ``blocks`` in pieces that end at the last line end read so far before
    which the number of quotes is even: outside a quoted field, unless a quote stands inside an unquoted
    one (then a piece may end inside quotes, which its end record tells)."""
    rest: list[bytes | memoryview] = []
    rest_bytes = rest_quotes = 0
    for data, last in blocks:
        quotes = rest_quotes + int(np.count_nonzero(np.frombuffer(data, np.uint8) == ord('"')))
        cut, after = len(data), 0  # the end of the file: all that is left
        if not last:
            cut = data.rfind(b"\n") + 1
            after = data.count(b'"', cut)
            while cut and (quotes - after) % 2:
                line = data.rfind(b"\n", 0, cut - 1) + 1
                after += data.count(b'"', line, cut)
                cut = line
            if not cut:  # no such line end in the new text: read on
                rest, rest_bytes, rest_quotes = [*rest, data], rest_bytes + len(data), quotes
                if rest_bytes > _MAX_PIECE:
                    raise _NotArrow(f"no line end outside quotes in {rest_bytes} bytes")
                continue
        yield [*rest, memoryview(data)[:cut]], last
        rest, rest_bytes, rest_quotes = [data[cut:]], len(data) - cut, after


def _utf8_blocks(path: Path, codec: str) -> Iterator[tuple[bytes, bool]]:
    """``(text, last)``: the file in blocks of UTF-8, decoded by Python's codec as pandas decodes it (a UTF-8
    file as it is), the last one empty. Raises :class:`_NotArrow` at a NUL byte (pyarrow may end a quoted
    field at one) and at a CR without an LF (pandas drops the delimiter after a blank line a lone CR ends)."""
    decoder = None if codec in ("utf-8", "utf-8-sig") else codecs.getincrementaldecoder(codec)()
    cr = False
    with path.open("rb") as fh:
        while True:
            raw = fh.read(_BLOCK)
            try:
                text = raw if decoder is None else decoder.decode(raw, final=not raw).encode("utf-8")
            except UnicodeError as err:
                raise _NotArrow(f"{type(err).__name__}: {err}") from None
            if b"\x00" in text or (cr and text[:1] not in (b"", b"\n")) or (b"\r" in text and _LONE_CR.search(text)):
                raise _NotArrow("a NUL byte or a CR without an LF")
            cr = text.endswith(b"\r")
            yield text, not raw
            if not raw:
                return


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
