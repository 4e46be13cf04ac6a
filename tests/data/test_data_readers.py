"""read_table: formats, encodings and file-level errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.data import DataError, EncodingWarning, read_table

TEXT = "市民反映：小区噪音扰民，請盡快處理"


def test_gbk_csv_is_decoded_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(f"text,label\n{TEXT},环境保护\n".encode("gbk"))
    with pytest.warns(EncodingWarning, match=r"gbk\.csv.*GB18030"):
        frame = read_table(path)
    assert frame.loc[0, "text"] == TEXT
    assert frame.loc[0, "label"] == "环境保护"


def test_utf8_bom_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(f"text,label\n{TEXT},x\n".encode("utf-8-sig"))
    assert list(read_table(path).columns) == ["text", "label"]


def test_undecodable_csv_names_file_offset_and_option(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"text\n\xff\xfe\xff\xfe\x80\n")
    with pytest.raises(DataError, match=r"binary\.csv.*byte offset 5.*--encoding"):
        read_table(path)


def test_explicit_wrong_encoding_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(f"text\n{TEXT}\n".encode("gbk"))
    with pytest.raises(DataError, match="not valid utf-8 at byte offset"):
        read_table(path, encoding="utf-8")
    assert read_table(path, encoding="gbk").loc[0, "text"] == TEXT


@pytest.mark.parametrize("content", [b"", b"  \n\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"empty\.csv: file is empty"):
        read_table(path)


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "appeals.txt"
    path.write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"appeals\.txt.*suffix '\.txt'"):
        read_table(path)
    assert read_table(path, fmt="csv").loc[0, "a"] == "1"
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_missing_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    pd.DataFrame({"text": ["a"]}).to_excel(path, sheet_name="data", index=False)
    with pytest.raises(DataError, match=r"book\.xlsx: no sheet named '汇总'.*\['data'\]"):
        read_table(path, sheet="汇总")
    with pytest.raises(DataError, match="no sheet number 3"):
        read_table(path, sheet=3)
    assert read_table(path, sheet="data").loc[0, "text"] == "a"


def test_csv_cells_are_strings_and_multiline_fields_survive(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('id,text,n\n007,"第一行\r\n第二行, 带逗号",NA\n008,,1.50\n', encoding="utf-8")
    frame = read_table(path)
    assert frame["id"].tolist() == ["007", "008"]  # leading zeros kept
    assert frame.loc[0, "text"] == "第一行\r\n第二行, 带逗号"
    assert frame.loc[0, "n"] == "NA"  # only empty cells are missing
    assert pd.isna(frame.loc[1, "text"])
    assert frame.loc[1, "n"] == "1.50"


def test_jsonl_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"text": "好"}\n\n{"text": \n', encoding="utf-8")
    with pytest.raises(DataError, match=r"a\.jsonl: line 3 is not valid JSON"):
        read_table(path)
    path.write_text('["not", "an object"]\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 1 is a JSON list"):
        read_table(path)


def test_jsonl_values_become_strings(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": 7, "text": "好", "x": null}\n{"id": 8, "text": "坏"}\n', encoding="utf-8")
    frame = read_table(path)
    assert frame["id"].tolist() == ["7", "8"]
    assert frame["x"].isna().all()


def test_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("text\nhello\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"fake\.xlsx: not a readable \.xlsx"):
        read_table(path)


def _two_sheets(path: Path, second: pd.DataFrame) -> Path:
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"text": ["路灯坏了", "噪音扰民"], "label": ["城乡建设", "环境保护"]}).to_excel(
            writer, sheet_name="一月", index=False)
        second.to_excel(writer, sheet_name="二月", index=False)
    return path


def test_sheets_with_one_header_are_all_read(tmp_path: Path) -> None:
    path = _two_sheets(tmp_path / "two.xlsx", pd.DataFrame({"text": ["公交晚点"], "label": ["交通运输"]}))
    frame = read_table(path)
    assert frame["text"].tolist() == ["路灯坏了", "噪音扰民", "公交晚点"]
    assert frame["_sheet"].tolist() == ["一月", "一月", "二月"]


def test_sheets_with_different_headers_are_an_error_naming_them(tmp_path: Path) -> None:
    path = _two_sheets(tmp_path / "two.xlsx", pd.DataFrame({"内容": ["公交晚点"]}))
    with pytest.raises(DataError, match="一月.*二月"):
        read_table(path)
    assert read_table(path, sheet="二月")["内容"].tolist() == ["公交晚点"]
