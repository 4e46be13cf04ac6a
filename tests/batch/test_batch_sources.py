"""Chunked reading and per-chunk validation: same records, same row numbers, same rules as the loader."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.batch.sources import ColumnMap, count_rows, discover, iter_chunks, read_columns, sniff_encoding
from minyi_nlp.batch.validation import validate_chunk
from minyi_nlp.data import DataError, load_file

FRAME = pd.DataFrame(
    {
        "id": [f"x{i}" for i in range(23)],
        "content": [f"第{i}号诉求：小区噪音扰民" for i in range(23)],
        "category": ["城乡建设"] * 23,
        "other": ["ignored"] * 23,
    }
)


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False, row_group_size=7)  # row groups cut across chunks
    else:
        frame.to_excel(path, index=False)
    return path


def _prepared(path: Path):
    f = discover(path)[0]
    enc = sniff_encoding(f.path) if f.format in ("csv", "jsonl") else None
    from dataclasses import replace

    f = replace(f, encoding=enc)
    return replace(f, columns=read_columns(f, enc))


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", ".xlsx"])
def test_chunks_cover_every_record_once_in_order(tmp_path: Path, suffix: str) -> None:
    f = _prepared(_write(FRAME, tmp_path / f"in{suffix}"))
    cols = ColumnMap()
    chunks = list(iter_chunks(f, cols, 5))
    assert [c.index for c in chunks] == [0, 1, 2, 3, 4]
    assert [len(c.frame) for c in chunks] == [5, 5, 5, 5, 3]
    assert [c.first_row for c in chunks] == [1, 6, 11, 16, 21]
    assert sum(len(c.frame) for c in chunks) == count_rows(f, cols) == 23
    ids = [str(v) for c in chunks for v in c.frame["id"]]
    assert ids == FRAME["id"].tolist()
    assert "other" not in chunks[0].frame.columns  # only the job's columns are kept


def test_validation_matches_load_file(tmp_path: Path) -> None:
    frame = FRAME.copy()
    frame.loc[2, "content"] = "   "
    frame.loc[8, "content"] = "？？！！"
    frame.loc[9, "id"] = None
    frame.loc[17, "content"] = "很长" * 40
    path = _write(frame, tmp_path / "in.csv")
    whole = load_file(path, {"id": "id", "content": "content", "category": "category"}, max_content_chars=50)
    f = _prepared(path)
    cols = ColumnMap()
    parts = [validate_chunk(c, source=f.name, columns=cols, max_content_chars=50) for c in iter_chunks(f, cols, 4)]
    rejects = pd.concat([p.rejects for p in parts], ignore_index=True)
    assert rejects[["row", "rule"]].values.tolist() == whole.rejects[["row", "rule"]].values.tolist()
    assert rejects["row"].tolist() == [3, 9, 10, 18]
    valid = pd.concat([p.valid for p in parts], ignore_index=True)
    assert valid["id"].tolist() == whole.frame["id"].tolist()
    assert valid["row"].tolist() == whole.frame["row"].tolist()
    assert sum(p.rows_read for p in parts) == whole.rows_read


def test_malformed_jsonl_line_is_a_reject_not_a_failure(tmp_path: Path) -> None:
    lines = [json.dumps({"id": "a", "content": "路灯坏了"}, ensure_ascii=False), "{not json", "",
             json.dumps({"id": "c", "content": "噪音"}, ensure_ascii=False)]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    f = _prepared(path)
    checked = [validate_chunk(c, source=f.name, columns=ColumnMap(), max_content_chars=100)
               for c in iter_chunks(f, ColumnMap(), 10)]
    assert checked[0].valid["id"].tolist() == ["a", "c"]
    assert checked[0].valid["row"].tolist() == [1, 3]  # blank lines are not records
    assert checked[0].rejects[["row", "rule"]].values.tolist() == [[2, "record_unparseable"]]


def test_gbk_csv_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    FRAME.head(3).to_csv(path, index=False, encoding="gbk")
    with pytest.warns(UserWarning, match="GB18030"):
        f = _prepared(path)
    chunk = next(iter_chunks(f, ColumnMap(), 10))
    assert chunk.frame["content"].iloc[0] == FRAME["content"].iloc[0]


def test_discover_directory_sorted_and_excludes(tmp_path: Path) -> None:
    _write(FRAME, tmp_path / "b.csv")
    (tmp_path / "sub").mkdir()
    _write(FRAME, tmp_path / "sub" / "a.jsonl")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.csv").write_text("id,content\n1,x\n")
    _write(FRAME, tmp_path / "out.parquet")
    files = discover(tmp_path, exclude=[tmp_path / "out.parquet"])
    assert [f.name for f in files] == ["b.csv", "sub/a.jsonl"]
    with pytest.raises(DataError, match="no such file"):
        discover(tmp_path / "missing")


def test_a_second_sheet_with_data_is_an_error_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"content": ["路灯坏了"]}).to_excel(writer, sheet_name="一月", index=False)
        pd.DataFrame({"content": ["公交晚点"]}).to_excel(writer, sheet_name="二月", index=False)
        pd.DataFrame().to_excel(writer, sheet_name="空", index=False)
    with pytest.raises(DataError, match="一月.*二月"):
        list(iter_chunks(discover(path)[0], ColumnMap(content="content"), 10))
