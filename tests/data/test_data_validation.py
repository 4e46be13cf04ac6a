"""load_file / validation rules / duplicates / rejects on small generated inputs."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.data import (
    CANONICAL_COLUMNS,
    DataError,
    SourceSpec,
    label_sets,
    load_file,
    load_source,
    parse_datetime,
)

MAPPING = {
    "id": "appeal_no",
    "title": "subject",
    "content": "text",
    "category": "label",
    "submitted_at": "date",
}


@pytest.fixture()
def teddy_7() -> tuple[str, ...]:
    return label_sets()["teddy_7"]


def _write(tmp_path: Path, rows: list[dict[str, str]], name: str = "in.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_small_fixture_rules_rows_and_rejects_file(
    small_csv: Path, tmp_path: Path, teddy_7: tuple[str, ...]
) -> None:
    rejects_path = tmp_path / "out" / "rejects.csv"
    before = hashlib.sha256(small_csv.read_bytes()).hexdigest()
    res = load_file(
        small_csv, MAPPING, name="small", extra=["note"], labels=teddy_7, rejects_path=rejects_path
    )
    assert hashlib.sha256(small_csv.read_bytes()).hexdigest() == before

    assert res.rows_read == 8
    assert res.frame["row"].tolist() == [1, 2, 7, 8]
    assert list(res.frame.columns) == [*CANONICAL_COLUMNS, "note"]
    assert res.frame.loc[1, "content"] == "孩子入学报名的问题：\n户籍在A3区，房产在A5区，应该去哪里报名？"
    assert pd.isna(res.frame.loc[1, "title"])
    assert res.frame.loc[0, "submitted_at"] == pd.Timestamp("2021-03-05 21:14")
    assert res.frame.loc[2, "submitted_at"] == pd.Timestamp("2021-03-10")
    assert pd.isna(res.frame.loc[3, "submitted_at"])

    by_row = res.rejects.set_index("row")
    assert by_row.loc[3, "rule"] == "content_empty" and by_row.loc[3, "reason"] == "content is empty"
    assert by_row.loc[4, "rule"] == "content_no_text"
    assert by_row.loc[5, "rule"] == "category_unknown"
    assert "'农村农业'" in by_row.loc[5, "reason"] and "城乡建设" in by_row.loc[5, "reason"]
    assert by_row.loc[6, "rule"] == "date_unparseable" and by_row.loc[6, "field"] == "submitted_at"
    assert "下周二" in by_row.loc[6, "reason"]
    assert res.summary()["rejected_by_reason"] == {
        "category_unknown": 1,
        "content_empty": 1,
        "content_no_text": 1,
        "date_unparseable": 1,
    }

    written = pd.read_csv(rejects_path, dtype=str, keep_default_na=False, encoding="utf-8")
    assert written["row"].tolist() == ["3", "4", "5", "6"]
    assert written.columns.tolist()[:5] == ["source", "row", "rule", "field", "reason"]
    assert written.set_index("row").loc["4", "text"] == "？？？！！！"
    assert written.set_index("row").loc["5", "label"] == "农村农业"
    assert written.set_index("row").loc["6", "date"] == "下周二"
    assert written.set_index("row").loc["3", "text"] == "   "  # original value, unstripped

    dup = res.duplicates
    content = dup[dup["kind"] == "content"]
    assert content["row"].tolist() == [1, 7]  # differ only in punctuation and spaces
    ids = dup[dup["kind"] == "id"]
    assert ids["row"].tolist() == [1, 8] and set(ids["id"]) == {"A-001"}
    assert len(res.frame) == 4  # duplicates are reported, not dropped


def test_punctuation_and_symbols_only_is_rejected(tmp_path: Path) -> None:
    texts = ["？？？！！！", "...!!!", "——（）【】", "😀😀", "<br>", "ok"]
    path = _write(tmp_path, [{"text": t} for t in texts])
    res = load_file(path, {"content": "text"})
    assert res.rejects["rule"].tolist() == ["content_no_text"] * 5
    assert res.frame["content"].tolist() == ["ok"]


def test_too_long_content_is_rejected_with_its_length(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"text": "投" * 100_000}, {"text": "正常"}])
    res = load_file(path, {"content": "text"})  # limit from settings (20,000)
    assert res.rejects["reason"].tolist() == ["content has 100000 characters, limit 20000"]
    assert res.rejects["row"].tolist() == [1]
    assert res.frame["row"].tolist() == [2]
    small = load_file(path, {"content": "text"}, max_content_chars=1)
    assert small.rejects["reason"].tolist() == [
        "content has 100000 characters, limit 1",
        "content has 2 characters, limit 1",
    ]


def test_missing_required_column_is_a_file_error(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"txt": "你好", "label": "教育文体"}])
    expected = r"in\.csv: missing required column\(s\) \['text'\].*found: \['txt', 'label'\]"
    with pytest.raises(DataError, match=expected):
        load_file(path, {"content": "text", "category": "label"})
    with pytest.raises(DataError, match=r"\['lable'\]"):
        load_file(path, {"content": "txt", "category": "lable"})


def test_missing_label_when_labels_given(tmp_path: Path, teddy_7: tuple[str, ...]) -> None:
    rows = [{"text": "公交线路调整", "label": ""}, {"text": "道路积水", "label": "城乡建设"}]
    path = _write(tmp_path, rows)
    res = load_file(path, {"content": "text", "category": "label"}, labels=teddy_7)
    assert res.rejects["rule"].tolist() == ["category_missing"]
    unchecked = load_file(path, {"content": "text", "category": "label"})
    assert len(unchecked.frame) == 2 and pd.isna(unchecked.frame.loc[0, "category"])


def test_generated_ids_and_concatenated_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"t": "路灯不亮", "b": " 已经一周了 ", "d": "2020-01-02", "h": "08:30"}])
    res = load_file(path, {"content": ["t", "b"], "submitted_at": ["d", "h"]}, name="ad hoc")
    assert res.frame.loc[0, "id"] == "ad hoc:1"
    assert res.frame.loc[0, "content"] == "路灯不亮已经一周了"
    assert res.frame.loc[0, "submitted_at"] == pd.Timestamp("2020-01-02 08:30")
    assert load_file(path, {"content": "t"}).frame.loc[0, "id"] == "in:1"


def test_same_mapping_same_frame_for_csv_jsonl_parquet_xlsx(tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {
            "appeal_no": ["1", "2", "3", "4"],
            "subject": ["噪音", None, "积水", "空"],
            "text": ["晚上施工噪音大\n影响休息", "学校收费不合理", "道路积水严重", "  "],
            "label": ["环境保护", "教育文体", "城乡建设", "城乡建设"],
            "date": ["2021-03-05 21:14", "2021/3/6", None, "2021-03-08"],
        }
    )
    paths = {"csv": tmp_path / "a.csv", "jsonl": tmp_path / "a.jsonl", "parquet": tmp_path / "a.parquet"}
    rows.to_csv(paths["csv"], index=False)
    rows.to_json(paths["jsonl"], orient="records", lines=True, force_ascii=False)
    rows.to_parquet(paths["parquet"], index=False)
    paths["xlsx"] = tmp_path / "a.xlsx"
    rows.to_excel(paths["xlsx"], index=False, sheet_name="appeals")

    results = {fmt: load_file(p, MAPPING, name="same") for fmt, p in paths.items()}
    reference = results["csv"]
    assert len(reference.frame) == 3 and reference.rejects["row"].tolist() == [4]
    for fmt, res in results.items():
        pd.testing.assert_frame_equal(res.frame, reference.frame, obj=fmt)
        assert res.rejects[["row", "rule"]].equals(reference.rejects[["row", "rule"]]), fmt


def test_load_source_accepts_a_spec_and_raw_dir(tmp_path: Path, teddy_7: tuple[str, ...]) -> None:
    (tmp_path / "sub").mkdir()
    rows = [{"text": "小区停水", "label": "城乡建设"}, {"text": "路面坑洼", "label": "其他"}]
    _write(tmp_path / "sub", rows)
    spec = SourceSpec(
        name="mini",
        path="sub/in.csv",
        id="generated",
        columns={"content": "text", "category": "label"},
        labels=teddy_7,
    )
    res = load_source(spec, raw_dir=tmp_path)
    assert res.frame["id"].tolist() == ["mini:1"]
    assert res.rejects["rule"].tolist() == ["category_unknown"]
    assert load_source(spec, raw_dir=tmp_path, labels=["城乡建设", "其他"]).rejects.empty


def test_unknown_source_name_lists_declared() -> None:
    with pytest.raises(DataError, match="unknown source 'nope'.*teddy_fj2_raw"):
        load_source("nope")


@pytest.mark.parametrize(
    "entry",
    [
        {"columns": {"content": "a", "id": "b"}, "id": "generated"},  # both
        {"columns": {"content": "a"}},  # neither
        {"columns": {"text": "a"}, "id": "generated"},  # unknown field, no content
        {"columns": {"content": "a"}, "id": "generated", "extra": ["content"]},  # extra clashes
    ],
)
def test_invalid_specs(entry: dict) -> None:
    with pytest.raises(ValueError):
        SourceSpec.model_validate({"name": "x", "path": "x.csv", **entry})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/4/25 9:32:09", datetime(2019, 4, 25, 9, 32, 9)),
        ("12/31/2016", datetime(2016, 12, 31)),
        ("2022-05-10", datetime(2022, 5, 10)),
        ("2019年4月25日 9时32分", datetime(2019, 4, 25, 9, 32)),
        ("2019年4月25日", datetime(2019, 4, 25)),
        ("20190425", datetime(2019, 4, 25)),
        ("2021-03-05T21:14:00+08:00", datetime(2021, 3, 5, 13, 14)),
        (datetime(2020, 1, 1), datetime(2020, 1, 1)),
        ("", None),
        (None, None),
    ],
)
def test_parse_datetime(value: object, expected: datetime | None) -> None:
    assert parse_datetime(value) == expected


@pytest.mark.parametrize("value", ["下周二", "5", "March", "2019-13-45", "0001-01-01"])
def test_parse_datetime_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="not a recognisable date"):
        parse_datetime(value)


def test_header_only_and_all_rejected_give_empty_canonical_frames(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("text,label\n", encoding="utf-8")
    res = load_file(path, {"content": "text", "category": "label"})
    assert res.rows_read == 0 and res.frame.empty and res.rejects.empty
    assert list(res.frame.columns) == list(CANONICAL_COLUMNS)
    bad = _write(tmp_path, [{"text": "！！", "n": "1"}, {"text": " ", "n": "2"}], name="bad.csv")
    res = load_file(bad, {"content": "text"})
    assert res.frame.empty and list(res.frame.columns) == list(CANONICAL_COLUMNS)
    assert res.summary()["rejected"] == 2 and res.summary()["valid"] == 0


def test_reject_columns_never_hide_original_columns(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"source": "热线", "row": "x", "text": ""}])
    res = load_file(path, {"content": "text", "channel": "source"})
    assert res.rejects.columns.tolist() == [
        "source", "row", "rule", "field", "reason", "orig.source", "orig.row", "text"
    ]
    assert res.rejects.loc[0, "orig.source"] == "热线" and res.rejects.loc[0, "source"] == "in"
