"""CSV chunks read by pyarrow and checked in pyarrow are the chunks pandas reads and the row-by-row checks
give: the same records, values, missing cells, errors, row counts, valid rows and reject lines."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from batch_fakes import FakeDispatcher
from hypothesis import given, settings
from hypothesis import strategies as st

from minyi_nlp.batch import reclassify, sources, validation
from minyi_nlp.batch.sources import ColumnMap, InputFile, RawChunk, count_rows, discover, iter_chunks
from minyi_nlp.batch.validation import PY_WHITESPACE, utf8_byte_patterns, validate_chunk
from minyi_nlp.data import DataError
from minyi_nlp.data.validate import HTML_TRIGGERS, rejects_frame

COLS = ColumnMap()
HEADER = ("id", "title", "content", "category")

TEXTS = [
    "尊敬的领导：您好！我是A市K1区大庆坪乡白竹坪村村民，村里的路灯已经坏了三个月，晚上出行很不方便，望尽快维修。",
    "\n\t\t\t\t\t\n\t\t\t\t\t\u3000\u3000本人唐某，现投诉某加油站非法占用一级粮田三亩多建站，\n并无成品油许可证为何可以开业？\n\t\t\t\t",
    '小区物业说"下周就修"，结果一个月过去了，电梯还是坏的，老人上下楼非常困难。',
    "孩子入学报名的问题：\r\n户籍在A3区，房产在A5区，应该去哪里报名？",
    "请问A7县东四路与东方航标小区间的空地规划用途是什么？能否建设停车场,缓解停车难",
    "楼下烧烤店每晚营业到凌晨两点，油烟、噪音很大（已多次投诉），请相关部门处理！！！",
    "公交12路站牌信息错误，“火车站”一站已取消，请更新。",
    "关于新冠疫苗接种：\n1. 第二针什么时候打？\n2. 外地户口能否在本地接种？",
    "网上说\u00a0《居住登记证明》可以报考驾驶证，是真的吗？",
    "<p>路灯不亮</p><br>已经一周了",
    "村里的自来水 &nbsp; 经常停水，影响生活",
    "＜b＞举报＜/b＞某企业偷排污水，河水发黑发臭",
    "工资被拖欠半年，老板说“没钱”，请劳动监察大队帮忙讨薪",
    "Is the No.5 bus still running after 22:00? 谢谢",
]
ODD = [
    "", "   ", "\u3000\u3000", "\t\n", "？？！！", "……", "<br>", "&nbsp;", "＜＞", "abc", "１２３", "12345",
    "很长" * 90, "路" * 151, " 路灯坏了 ", "\xa0中\xa0", "\x1c路\x1d", "\u2028噪音\u2029", "😀😀", "繁體字內容",
    "<!-- 路灯 -->", '<p title="路灯">', "＜p title=噪音＞", "﹤!--噪音--﹥",  # ideographs only inside HTML: no text
]
TITLES = ["", "", "", "噪音扰民", '关于"学区"划分的咨询', "路灯, 不亮", " 标题 ", "\u3000", "＜紧急＞"]
CATEGORIES = ["", "", "城乡建设", "环境保护", "教育文体", "劳动和社会保障", " 交通运输 "]


def appeal_rows(n: int, seed: int = 0) -> list[list[str]]:
    """Real-looking appeals with every kind of odd cell (empty ids, blank, long, punctuation-only content)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        row_id = "" if i % 37 == 5 else " " if i % 41 == 7 else f"b{i:08d}"
        content = rng.choice(TEXTS) if rng.random() < 0.75 else rng.choice(ODD)
        if rng.random() < 0.1:
            content += rng.choice(ODD)
        rows.append([row_id, rng.choice(TITLES), content, rng.choice(CATEGORIES)])
    return rows


def write_csv(path: Path, rows: list[list[str]], *, newline: str = "\n", encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(HEADER)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def prepared(path: Path, encoding: str | None = None) -> InputFile:
    f = discover(path)[0]
    return replace(f, encoding=sources.sniff_encoding(f.path, encoding))


def outcome(chunks: Callable[[], Iterator[RawChunk]]) -> tuple[list[RawChunk] | None, str | None]:
    try:
        return list(chunks()), None
    except DataError as err:
        return None, str(err)


def arrow_reads_it(f: InputFile, batch_size: int) -> bool:
    try:
        for _ in sources._arrow_csv_tables(f, COLS.wanted, batch_size):
            pass
    except sources._NotArrow:
        return False
    return True


def assert_read_as_pandas_does(f: InputFile, batch_size: int) -> list[RawChunk]:
    """:func:`iter_chunks` and :func:`count_rows` give what the pandas reader gives (chunks or error)."""
    got, got_error = outcome(lambda: iter_chunks(f, COLS, batch_size))
    expected, expected_error = outcome(lambda: sources._pandas_csv_chunks(f, COLS, batch_size))
    assert got_error == expected_error
    if expected is not None:
        assert got is not None
        assert [(c.index, c.first_row) for c in got] == [(c.index, c.first_row) for c in expected]
        for chunk, want in zip(got, expected, strict=True):
            pd.testing.assert_frame_equal(chunk.frame, want.frame, check_exact=True)
    try:
        counted: int | str = count_rows(f, COLS)
    except (DataError, ValueError) as err:
        counted = str(err)
    try:
        count_expected: int | str = sources._pandas_csv_count(f, COLS)
    except (DataError, ValueError) as err:
        count_expected = str(err)
    assert counted == count_expected
    return got or []


def assert_checked_as_row_by_row(chunk: RawChunk, max_content_chars: int, source: str = "in.csv") -> None:
    """:func:`validate_chunk` gives the valid rows and reject lines of the loader's row-by-row checks."""
    fast = validate_chunk(chunk, source=source, columns=COLS, max_content_chars=max_content_chars)
    with mock.patch.object(validation, "_arrow_fields", return_value=None):
        slow = validate_chunk(chunk, source=source, columns=COLS, max_content_chars=max_content_chars)
    pd.testing.assert_frame_equal(fast.valid, slow.valid, check_exact=True)
    for col in ("id", "source", "title", "content", "category"):  # the same arrays, not only equal values
        assert pa.array(fast.valid[col].array).type == pa.array(slow.valid[col].array).type
    pd.testing.assert_frame_equal(fast.rejects, slow.rejects, check_exact=True)
    assert fast.rows_read == slow.rows_read


@pytest.mark.parametrize(("newline", "encoding"), [("\n", "utf-8"), ("\r\n", "utf-8"), ("\r\n", "gb18030")])
def test_real_looking_appeals_read_and_check_as_before(tmp_path: Path, newline: str, encoding: str) -> None:
    path = write_csv(tmp_path / "in.csv", appeal_rows(400), newline=newline, encoding=encoding)
    f = prepared(path, encoding if encoding != "utf-8" else None)
    assert arrow_reads_it(f, 64)  # the fast path reads all of it (it does not fall back)
    chunks = assert_read_as_pandas_does(f, 64)
    assert sum(len(c.frame) for c in chunks) == 400
    rules: set[str] = set()
    for chunk in chunks:
        assert_checked_as_row_by_row(chunk, max_content_chars=150)
        rules |= set(validate_chunk(chunk, source="in.csv", columns=COLS, max_content_chars=150).rejects["rule"])
    assert rules == {"id_empty", "content_empty", "content_too_long", "content_no_text"}


def test_real_appeals_read_and_check_as_before(tmp_path: Path, real_texts: list[tuple[str, str]]) -> None:
    rows = [[f"t{i}", "", text, label] for i, (label, text) in enumerate(real_texts[:300])]
    path = write_csv(tmp_path / "in.csv", rows, newline="\r\n")
    f = prepared(path)
    assert arrow_reads_it(f, 64)
    for chunk in assert_read_as_pandas_does(f, 64):
        assert_checked_as_row_by_row(chunk, max_content_chars=300)


@pytest.mark.parametrize("block", [61, 997, 4096])
def test_pieces_end_between_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    rows = appeal_rows(150, seed=1)
    for row in rows[::3]:
        row[0] = "\ufeff" + row[0]  # a BOM that starts a line is data, also where a piece starts
    path = write_csv(tmp_path / "in.csv", rows, newline="\r\n")
    monkeypatch.setattr(sources, "_BLOCK", block)
    f = prepared(path)
    assert arrow_reads_it(f, 50)
    for chunk in assert_read_as_pandas_does(f, 50):
        assert_checked_as_row_by_row(chunk, max_content_chars=150)
    rows[40][1] = '5"寸屏幕'  # a quote inside an unquoted field: the quote count says "inside" from here on
    path = write_csv(tmp_path / "in.csv", rows, newline="\r\n")
    assert_read_as_pandas_does(prepared(path), 50)


def test_a_file_that_ends_inside_quotes_is_pandas_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", appeal_rows(3000, seed=5))  # more than pandas reads for the header
    path.write_bytes(path.read_bytes() + '9,,路灯坏了,"城乡建设\n还有一行\n'.encode())  # a quote left open
    f = prepared(path)
    assert not arrow_reads_it(f, 64)
    assert outcome(lambda: iter_chunks(f, COLS, 64))[1] == outcome(lambda: sources._pandas_csv_chunks(f, COLS, 64))[1]
    assert_read_as_pandas_does(f, 64)


EDGE_CASES = {  # name: (file bytes, read by pyarrow to the end)
    "bom": (b"\xef\xbb\xbfid,content\n1,\xe8\xb7\xaf\xe7\x81\xaf\n", True),
    "crlf": (b'id,content\r\n1,"a\r\nb"\r\n2,x\r\n', True),
    "quoted_empty_and_blank": (b'id,content\n1,""\n2," "\n"",x\n', True),
    "header_only": (b"id,content\n", True),
    "header_only_no_newline": (b"id,content", True),
    "last_line_without_newline": (b"id,content\n1,a\n2,b", True),
    "blank_lines": (b"\n\nid,content\n\n1,a\n\n\n2,b\n\n", True),
    "quote_after_closing_quote": (b'id,content\n1,"ab"c\n2,ab"c\n', True),
    "bom_inside": (b"id,content\n\xef\xbb\xbf1,a\n", True),
    "fewer_fields": (b"id,title,content\n1,t\n2,t,c\n", False),
    "more_fields_in_first_row": (b"id,content\n1,x,z\n2,y\n", False),
    "more_fields_later": (b"id,content\n1,a\n2,b,c,d\n", False),
    "unclosed_quote": (b'id,content\n1,"abc\n2,x\n', False),
    "lone_cr_blank_line": (b"id,content\r\n\r,x\r\n", False),
    "nul": (b"id,content\n1,a\x00b\n", False),
    "duplicate_header": (b"id,content,content\n1,a,b\n", False),
    "empty_header_name": (b"id,content,\n1,a,\n", False),
    "whitespace_line": (b"id,content\n1,a\n   \n2,b\n", False),
    "one_column": (b"content\n a\n   \nb\n", False),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases_read_as_pandas_does(tmp_path: Path, name: str) -> None:
    data, arrow = EDGE_CASES[name]
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    f = prepared(path)
    assert arrow_reads_it(f, 2) is arrow
    for chunk in assert_read_as_pandas_does(f, 2):
        if {"id", "content"} <= set(chunk.frame.columns):
            assert_checked_as_row_by_row(chunk, max_content_chars=10)


def test_header_only_file_is_one_empty_chunk(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,title,content\n")
    (chunk,) = iter_chunks(prepared(path), COLS, 10)
    assert (chunk.index, chunk.first_row, list(chunk.frame.columns), len(chunk.frame)) == (0, 1, list(HEADER[:3]), 0)


def test_gb18030_and_bad_bytes_later_in_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = write_csv(tmp_path / "good.csv", appeal_rows(60, seed=2), encoding="gb18030").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good + b"b9,\x81\x20,x,\n")  # not GB18030: pandas' error, after the chunks before it
    monkeypatch.setattr(sources, "_BLOCK", 1000)
    assert_read_as_pandas_does(prepared(tmp_path / "good.csv", "gb18030"), 16)
    f = prepared(bad, "gb18030")
    assert not arrow_reads_it(f, 16)
    assert_read_as_pandas_does(f, 16)


def test_invalid_utf8_in_a_column_not_read_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,content,other\n1,x,\xff\n")
    f = prepared(path, "utf-8")
    assert not arrow_reads_it(f, 10)
    assert_read_as_pandas_does(f, 10)


def test_py_whitespace_is_what_str_strip_removes() -> None:
    assert set(PY_WHITESPACE) == {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    texts = [chr(c) + "a" + chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    trimmed = pc.utf8_trim(pa.array(texts, pa.large_string()), characters=PY_WHITESPACE).to_pylist()
    assert trimmed == [t.strip() for t in texts]


def test_html_byte_patterns_find_exactly_the_html_triggers() -> None:
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    data = pa.array([f"x{c}中" for c in chars], pa.large_string()).cast(pa.large_binary())
    found = functools.reduce(pc.or_, [pc.match_substring_regex(data, p) for p in utf8_byte_patterns(HTML_TRIGGERS)])
    assert {c for c, hit in zip(chars, found.to_pylist(), strict=True) if hit} == set(HTML_TRIGGERS)
    assert utf8_byte_patterns("a€𝄞é") == ["\\x61", "\\xe2(?:\\x82\\xac)", "\\xf0(?:\\x9d\\x84\\x9e)", "\\xc3(?:\\xa9)"]


PIECES = [*TEXTS[:4], *ODD, "路灯", "<", "&", ">", "\ufe64", "\uff06", "\uff1e", "<!--", "-->", "<p title=", "\u3400",
          "\u9fff", "\ua000", "_", "\u200b", "\ufeff"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(*[st.lists(st.sampled_from(PIECES), max_size=3).map("".join)] * 4), max_size=12))
def test_checks_in_pyarrow_are_the_row_rules(rows: list[tuple[str, str, str, str]]) -> None:
    frame = pd.DataFrame(rows or None, columns=list(HEADER), dtype=object).astype("string")  # "" as in Parquet
    assert_checked_as_row_by_row(RawChunk(3, 31, frame), max_content_chars=40)


def test_jsonl_parquet_xlsx_chunks_are_checked_as_before(tmp_path: Path) -> None:
    rows = appeal_rows(40, seed=3)
    frame = pd.DataFrame(rows, columns=list(HEADER)).replace("", None)
    jsonl = tmp_path / "in.jsonl"
    lines = frame.to_json(orient="records", lines=True, force_ascii=False).splitlines()
    jsonl.write_text("\n".join([*lines[:5], "{broken", *lines[5:]]) + "\n", encoding="utf-8")
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    frame.assign(id=range(40)).to_parquet(tmp_path / "ints.parquet", index=False)  # not text: row by row
    frame.replace({"\x1c": "", "\x1d": ""}, regex=True).to_excel(tmp_path / "in.xlsx", index=False)  # no controls
    for name in ("in.jsonl", "in.parquet", "ints.parquet", "in.xlsx"):
        f = prepared(tmp_path / name) if name.endswith("jsonl") else discover(tmp_path / name)[0]
        for chunk in iter_chunks(f, COLS, 16):
            assert_checked_as_row_by_row(chunk, max_content_chars=150, source=name)


def test_empty_rejects_are_a_fresh_copy(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "in.csv", [["1", "", TEXTS[0], ""], ["2", "", TEXTS[1], ""]])
    chunk = next(iter_chunks(prepared(path), COLS, 10))
    first = validate_chunk(chunk, source="in.csv", columns=COLS, max_content_chars=500).rejects
    first["extra"] = pd.Series(dtype=object)
    again = validate_chunk(chunk, source="in.csv", columns=COLS, max_content_chars=500).rejects
    pd.testing.assert_frame_equal(again, rejects_frame("in.csv", [], chunk.frame), check_exact=True)


def test_job_output_and_rejects_are_those_of_the_pandas_reader(tmp_path: Path) -> None:
    rows = appeal_rows(300, seed=4)
    rows[100][2] = "路灯坏了BOOM"  # the dispatcher fails on this row: a predict_error reject line
    write_csv(tmp_path / "in.csv", rows, newline="\r\n")
    outputs = []
    for name, patch in (("fast", None), ("pandas", sources._NotArrow("forced"))):
        out = tmp_path / name / "out.parquet"
        with mock.patch.object(sources, "_arrow_csv_tables", side_effect=patch) if patch else contextlib.nullcontext():
            reclassify(tmp_path / "in.csv", out, batch_size=64, top_k=2, dispatcher=FakeDispatcher(),
                       max_content_chars=150, progress=False)
        outputs.append((pd.read_parquet(out), (out.parent / "out.rejects.csv").read_bytes()))
    (fast, fast_rejects), (slow, slow_rejects) = outputs
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert fast_rejects == slow_rejects and fast_rejects.count(b"\n") > 20
