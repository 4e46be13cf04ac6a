"""Appeals in: a CSV / XLSX / JSONL / Parquet file or a directory of them, one file at a time.

Columns are found by name: ``id`` (留言编号, 编号), ``title`` (留言主题, 标题), ``content`` (留言详情, 内容,
text), ``submitted_at`` (留言时间, 时间, time), ``user`` (留言用户, 用户), ``likes`` (点赞数) and
``dislikes`` (反对数, against); any of them can be named explicitly (:class:`Columns`). Only ``content``
is required: without an id column the ids are ``<file>:<row>``.

Every file goes through :func:`minyi_nlp.data.load_file`, so a row is rejected for the loader's reasons
(empty or over-long content, punctuation only, an unparseable date), plus a likes/dislikes cell that is
not a whole number ≥ 0. Rejected rows are collected with file, row, field and reason; their text cells
are PII-masked before they are written anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from minyi_nlp.data import DataError
from minyi_nlp.data.readers import FORMATS

logger = logging.getLogger(__name__)

__all__ = ["Columns", "InputReader", "find_input_files", "mask_frame"]

#: canonical field → accepted column names, first match wins (case-insensitive)
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "留言编号", "编号", "message_id", "appeal_id"),
    "title": ("title", "留言主题", "标题", "主题", "subject"),
    "content": ("content", "留言详情", "内容", "详情", "text", "body"),
    "submitted_at": ("submitted_at", "留言时间", "时间", "time", "date", "created_at"),
    "user": ("user", "留言用户", "用户", "user_id", "citizen"),
    "likes": ("likes", "点赞数", "点赞", "support"),
    "dislikes": ("dislikes", "反对数", "反对", "against"),
}
FRAME_COLUMNS = ("id", "source", "row", "title", "content", "submitted_at", "user", "likes", "dislikes")


@dataclass(frozen=True)
class Columns:
    """Explicit column names; ``None`` = look for the usual names (:data:`ALIASES`)."""

    id: str | None = None
    title: str | None = None
    content: str | None = None
    submitted_at: str | None = None
    user: str | None = None
    likes: str | None = None
    dislikes: str | None = None

    def resolve(self, found: list[str], path: Path) -> dict[str, str]:
        """Canonical field → column of this file; :class:`DataError` when ``content`` or a named column is missing."""
        lower = {c.strip().lower(): c for c in found}
        out: dict[str, str] = {}
        for name, aliases in ALIASES.items():
            wanted = getattr(self, name)
            if wanted is not None:
                if wanted not in found:
                    raise DataError(f"{path}: no column {wanted!r} (given for {name}); columns found: {found}")
                out[name] = wanted
                continue
            hit = next((lower[a.lower()] for a in aliases if a.lower() in lower), None)
            if hit is not None:
                out[name] = hit
        if "content" not in out:
            raise DataError(
                f"{path}: no content column (looked for {list(ALIASES['content'])}; columns found: {found}); "
                "name it with --content-column"
            )
        return out


def find_input_files(path: Path) -> list[Path]:
    """``path`` itself, or the supported files under a directory (recursive, sorted, hidden ones skipped)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_file():
        return [path]
    files = [
        p
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.suffix.lower() in FORMATS and not any(s.startswith(".") for s in p.relative_to(path).parts)
    ]
    if not files:
        raise DataError(f"{path}: no CSV/JSONL/Parquet/XLSX files in this directory")
    return files


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell PII-masked (for rejects files and logs)."""
    from minyi_nlp.text import mask_pii

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: mask_pii(v) if isinstance(v, str) else v)
    return out


def _counts(values: pd.Series, field: str) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Whole numbers ≥ 0 (empty → 0) and the (position, reason) of cells that are not."""
    out = np.zeros(len(values), np.int64)
    bad: list[tuple[int, str]] = []
    for k, v in enumerate(values.tolist()):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v) or str(v).strip() == "":
            continue
        try:
            number = float(str(v).strip())
        except ValueError:
            bad.append((k, f"{field} {str(v)[:40]!r} is not a number"))
            continue
        if number < 0 or not number.is_integer():
            bad.append((k, f"{field} {v!r} is not a whole number >= 0"))
        else:
            out[k] = int(number)
    return out, bad


@dataclass
class InputReader:
    """Reads the input files one by one into canonical frames and collects the rejected rows."""

    path: Path
    columns: Columns = field(default_factory=Columns)
    encoding: str | None = None
    rows_read: int = 0
    rejects: list[pd.DataFrame] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return sum(int(r[["source", "row"]].drop_duplicates().shape[0]) for r in self.rejects)

    def frames(self) -> Iterator[pd.DataFrame]:
        """One canonical frame per file: ``id, source, row, title, content, submitted_at, user, likes, dislikes``."""
        for path in find_input_files(self.path):
            yield self._read(path)

    def _read(self, path: Path) -> pd.DataFrame:
        from minyi_nlp.data import load_file

        mapping = self.columns.resolve(self._header(path), path)
        canonical = {k: v for k, v in mapping.items() if k in ("id", "title", "content", "submitted_at")}
        extra = {k: v for k, v in mapping.items() if k in ("user", "likes", "dislikes")}
        loaded = load_file(path, canonical, name=path.name, encoding=self.encoding, extra=extra)
        self.rows_read += loaded.rows_read
        if len(loaded.rejects):
            self.rejects.append(mask_frame(loaded.rejects))
        frame = loaded.frame
        n = len(frame)
        problems: list[dict[str, object]] = []
        counts: dict[str, np.ndarray] = {}
        for name in ("likes", "dislikes"):
            if name in frame.columns:
                counts[name], bad = _counts(frame[name], name)
                problems += [
                    {"source": path.name, "row": int(frame["row"].iloc[k]), "rule": f"{name}_invalid", "field": name,
                     "reason": reason}
                    for k, reason in bad
                ]
            else:
                counts[name] = np.zeros(n, np.int64)
        keep = np.ones(n, bool)
        if problems:
            lines = pd.DataFrame(problems)
            keep = ~frame["row"].isin(set(lines["row"])).to_numpy()
            originals = frame.loc[~keep].drop(columns=["source"]).rename(columns={"id": "orig.id"})
            merged = lines.merge(originals, on="row", how="left").sort_values("row", kind="stable")
            self.rejects.append(mask_frame(merged.reset_index(drop=True)))
        no_user = pd.Series(pd.NA, index=frame.index, dtype="string")
        out = pd.DataFrame(
            {
                "id": frame["id"].astype("string"),
                "source": frame["source"].astype("string"),
                "row": frame["row"].astype("int64"),
                "title": frame["title"].astype("string"),
                "content": frame["content"].astype("string"),
                "submitted_at": frame["submitted_at"],
                "user": frame["user"].astype("string") if "user" in frame.columns else no_user,
                "likes": counts["likes"],
                "dislikes": counts["dislikes"],
            }
        )
        return out.loc[keep].reset_index(drop=True)

    def _header(self, path: Path) -> list[str]:
        """Column names, without reading the whole file where the format allows it."""
        from minyi_nlp.data import read_table
        from minyi_nlp.data.readers import detect_format

        kind = detect_format(path)
        try:
            if kind == "parquet":
                import pyarrow.parquet as pq

                return [str(c) for c in pq.read_schema(path).names]
            if kind == "xlsx":
                import openpyxl

                book = openpyxl.load_workbook(path, read_only=True, data_only=True)
                try:
                    first = next(book.worksheets[0].iter_rows(max_row=1, values_only=True), ())
                finally:
                    book.close()
                return [str(v) for v in first if v is not None]
        except Exception:  # unreadable: the full read below names the problem
            pass
        return [str(c) for c in read_table(path, encoding=self.encoding).columns]

    def write_rejects(self, path: Path) -> Path | None:
        """Write the collected reject lines (masked) as UTF-8 CSV; None when there are none."""
        if not self.rejects:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.concat(self.rejects, ignore_index=True).to_csv(path, index=False, encoding="utf-8")
        return path
