"""The real raw sources declared in sources.yaml load as expected and stay untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.data import CANONICAL_COLUMNS, LoadResult, label_sets, load_table, source_specs

TEDDY_7 = {"城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输"}

# data/raw is immutable: these must match data/raw/README.md
RAW_SHA256 = {
    "teddy2020_c/fj1_label_taxonomy_517.xlsx": (
        "d0cf85268543ef3e7b40d501a7b615738c13ad6236740890bbe07c544cc32f46"
    ),
    "teddy2020_c/fj2_raw_labeled.csv": "730c0b9bf3e0a7ecf381d6783bb7886cd35f7178cf8419527d8a04882f19e877",
    "teddy2020_c/fj2_segmented_labeled.csv": (
        "abf7cba86c8230561910d869077b41ebd3398c54419145fe43de8f40cc2d1119"
    ),
    "teddy2020_c/fj4_messages_with_replies.xlsx": (
        "470b93e69408e008a096afe3dab3ab1162620b8986126a474eebee77353ba3bd"
    ),
    "teddy2020_c/fj2_official_test_unlabeled_2801.xlsx": (
        "3adeb822b743cfdd3b0cc62755239789c003d37766e03a7804db2361e008cf19"
    ),
    "teddy2020_c/fj3_hot_issue_messages_4326.xlsx": (
        "86bc682dd7dee2fe77b00f1b2dde5e3c622e4c9be942eb7f74a08323f1b0cb50"
    ),
    "shangluo_mayor_mailbox/latest.csv": "36c8f68e574c7fa678bea68b31c1376f7b3b663f2d4c665fdb421e605bc34047",
    "fuzhou_river_12345/fuzhou_river_appeals_summary.xlsx": (
        "68b49ddeb86aba72e93ffc98a1adbea1f10f0ed5bf176e188c09bab921b84e49"
    ),
}

# source -> (rows read, valid rows, extra columns)
EXPECTED = {
    "teddy_fj2_raw": (2061, 2061, ["src"]),
    "teddy_fj2_segmented": (8148, 8148, []),
    "teddy_fj4_replies": (2714, 2714, ["user", "reply", "replied_at"]),
    "teddy_fj2_test_unlabelled": (2801, 2801, ["user"]),
    "teddy_fj3_hot_issues": (4326, 4326, ["user", "against", "likes"]),
    "shangluo_mailbox": (1089, 1087, ["reply", "replied_at", "url"]),
    "fuzhou_river": (1464, 1464, ["reply", "river", "transfers"]),
}


def test_every_declared_source_is_tested_and_exists(raw_dir: Path) -> None:
    specs = source_specs()
    assert set(specs) == set(EXPECTED)
    for spec in specs.values():
        assert spec.resolve_path(raw_dir).is_file(), spec.path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_source_loads_with_canonical_columns(loaded: dict[str, LoadResult], name: str) -> None:
    rows_read, valid, extra = EXPECTED[name]
    res = loaded[name]
    assert res.rows_read == rows_read
    assert len(res.frame) == valid
    assert list(res.frame.columns) == [*CANONICAL_COLUMNS, *extra]
    frame = res.frame
    assert frame["id"].notna().all()
    assert frame["id"].is_unique or name == "shangluo_mailbox"  # 7 ids repeat upstream
    assert frame["content"].notna().all()
    assert (frame["content"].str.strip() == frame["content"]).all()
    assert (frame["source"] == name).all()
    assert frame["row"].is_monotonic_increasing and frame["row"].min() >= 1
    assert frame["row"].max() <= rows_read
    assert pd.api.types.is_datetime64_any_dtype(frame["submitted_at"])
    assert pd.api.types.is_string_dtype(frame["content"])
    summary = res.summary()
    assert summary["rows_read"] == rows_read and summary["valid"] == valid
    assert summary["rejected"] == rows_read - valid


def test_teddy_label_set_is_exactly_the_seven(loaded: dict[str, LoadResult]) -> None:
    assert set(label_sets()["teddy_7"]) == TEDDY_7
    for name in ("teddy_fj2_raw", "teddy_fj2_segmented"):
        assert set(loaded[name].frame["category"].unique()) == TEDDY_7
        assert loaded[name].spec.labels is not None and set(loaded[name].spec.labels) == TEDDY_7


def test_taxonomy_contains_the_seven(raw_dir: Path) -> None:
    tax = load_table("teddy_fj1_taxonomy", raw_dir=raw_dir)
    assert len(tax) == 517
    assert tax["一级分类"].nunique() == 15
    assert tax["二级分类"].nunique() == 103
    assert set(tax["一级分类"]) >= TEDDY_7


def test_segmented_duplicates_are_reported_not_dropped(loaded: dict[str, LoadResult]) -> None:
    res = loaded["teddy_fj2_segmented"]
    assert res.pretokenized and not loaded["teddy_fj2_raw"].pretokenized
    dup = res.duplicates[res.duplicates["kind"] == "content"]
    summary = res.summary()
    # README: 132 duplicated texts; normalised keys find a few more (observed 164 groups / 332 rows)
    assert 100 <= summary["duplicate_content_groups"] <= 250
    assert summary["duplicate_content_rows"] > summary["duplicate_content_groups"]
    assert len(res.frame) == res.rows_read  # nothing dropped
    assert set(dup["row"]) <= set(res.frame["row"])
    assert (dup.groupby("group")["size"].first() >= 2).all()


def test_shangluo_rejects_and_duplicate_ids(loaded: dict[str, LoadResult]) -> None:
    res = loaded["shangluo_mailbox"]
    assert res.rejects["rule"].tolist() == ["content_empty", "content_empty"]
    assert res.rejects["row"].tolist() == [206, 1029]
    assert res.rejects["mail_id"].tolist() == ["20210712001", "20131101001"]
    ids = res.duplicates[res.duplicates["kind"] == "id"]
    assert ids["group"].nunique() == 7 and len(ids) == 15
    assert res.frame["submitted_at"].isna().sum() == 9  # missing query_date is allowed
    assert res.frame["department"].notna().all()
    assert any("\n" in t for t in res.frame["content"])  # RFC 4180 multi-line fields survive


def test_fuzhou_channel_type_and_mixed_dates(loaded: dict[str, LoadResult]) -> None:
    frame = loaded["fuzhou_river"].frame
    assert set(frame["appeal_type"]) == {"投诉", "咨询", "建议", "举报", "求助"}
    assert frame["channel"].value_counts()["网站"] == 764
    assert frame["submitted_at"].notna().all()
    by_row = frame.set_index("row")["submitted_at"]
    assert by_row[1] == pd.Timestamp("2020-09-03")  # Excel date cell
    assert by_row[1204] == pd.Timestamp("2016-12-31")  # text cell "12/31/2016"


def test_fj4_text_is_stripped_and_ids_kept(loaded: dict[str, LoadResult]) -> None:
    frame = loaded["teddy_fj4_replies"].frame
    assert frame.loc[0, "id"] == "2549"
    assert not frame["content"].str.startswith(("\n", "\t")).any()
    assert frame["reply"].notna().all()
    assert frame["submitted_at"].min() >= pd.Timestamp("2011-01-01")


def test_raw_files_are_unmodified(loaded: dict[str, LoadResult], raw_dir: Path) -> None:
    """Runs after the loads (fixture) so it also proves loading never writes to data/raw."""
    for rel, digest in RAW_SHA256.items():
        assert hashlib.sha256((raw_dir / rel).read_bytes()).hexdigest() == digest, rel
