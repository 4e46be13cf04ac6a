"""Weak sub-category labels: the keyword lexicon, the rules that pick a node, and the training frame."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from lists_helpers import copy_lists, edit_yaml

import minyi_nlp.data.weak_labels as wl
from minyi_nlp.data.schema import DataError
from minyi_nlp.data.tasks import subcategory_task
from minyi_nlp.data.weak_labels import (
    HEAD_CHARS,
    TRAINING_FILE,
    Lexicon,
    build_inputs,
    inputs_file,
    load_lexicon,
    stale_inputs,
    training_frame,
    weak_label,
)
from minyi_nlp.params import load_params
from minyi_nlp.prepare import APPEALS_FILE, COPIES_FILE
from minyi_nlp.routing.lists import get_lists_settings, load_lists

GAS = "城乡建设/城市建设和市政管理/燃气供应"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("小区里燃气泄漏,随时可能爆炸,请燃气公司马上来人", GAS),
        ("派出所不作为,报警后民警一直不出警", "政法/警务督察/警务执法"),
        ("我家申请城镇低保两年了还没有批下来,低保金怎么申请", "民政/社会救助/城镇低保"),
        ("公司拖欠工资三个月,老板跑路了", "劳动和社会保障/工资福利/工资发放"),
        ("孩子上小学的学区划片不合理", "教育文体/教育体制/教育统筹管理"),
        ("村里的宅基地审批一直办不下来,想在农村建房", "农村农业/土地承包经营/宅基地纠纷"),
        ("河里非法采砂,挖沙船日夜作业", "国土资源/矿产资源管理/矿产开采"),
        ("村支书以权谋私,优亲厚友", "纪检监察/滥用职权/以权谋私"),
    ],
)
def test_keywords_point_to_the_item(lexicon: Lexicon, text: str, expected: str) -> None:
    label = weak_label(text, lexicon)
    assert label.rule == "keyword"
    assert label.path == expected
    assert label.evidence  # the words that decided
    assert 0 < label.confidence <= 1


def test_a_tie_between_items_stops_at_their_parent(lexicon: Lexicon) -> None:
    # 低保 alone is both 农村低保 and 城镇低保
    assert weak_label("申请低保需要什么条件", lexicon).path == "民政/社会救助"


def test_the_teddy_label_holds_the_first_level(lexicon: Lexicon) -> None:
    inside = weak_label("小区燃气泄漏", lexicon, teddy_label="城乡建设")
    assert (inside.path, inside.rule) == (GAS, "teddy_keyword")
    # Teddy says 商贸旅游: the gas keywords are outside it, so only the 一级 is kept, never 城乡建设
    outside = weak_label("小区燃气泄漏", lexicon, teddy_label="商贸旅游")
    assert (outside.path, outside.rule, outside.confidence) == ("商贸旅游", "teddy_only", 1.0)


def test_a_replying_unit_picks_among_its_own_items(lexicon: Lexicon) -> None:
    label = weak_label("这个路口经常堵车,还有人闯红灯", lexicon, department="交警")
    assert (label.path, label.rule) == ("政法/交通管理/交通安全管理", "department_keyword")
    assert label.evidence.startswith("交警:")


def test_a_replying_unit_alone_gives_its_node_only_without_keywords(lexicon: Lexicon) -> None:
    assert weak_label("请尽快处理我的问题,谢谢", lexicon, department="民政局").path == "民政"
    # a keyword outside the unit's items wins over the unit's bare node (units are derived, and coarse)
    label = weak_label("小区门口路灯不亮一个多月了", lexicon, department="民政局")
    assert (label.path, label.rule) == ("城乡建设/城市建设和市政管理/城市公共设施", "keyword")


def test_no_evidence_no_label(lexicon: Lexicon) -> None:
    label = weak_label("请领导关注一下,谢谢", lexicon)
    assert (label.path, label.rule, label.confidence) == (None, "none", 0.0)


def test_words_in_the_title_weigh_more(lexicon: Lexicon) -> None:
    title = "燃气管道漏气"
    body = "。" * HEAD_CHARS + "另外楼下噪音也有点大"
    assert weak_label(title + body, lexicon).path == GAS
    assert weak_label("楼下噪音有点大" + body.replace("噪音", "燃气"), lexicon).path.startswith("环境保护")


def test_rank_is_hierarchical_and_says_other_when_nothing_matches(lexicon: Lexicon) -> None:
    ranked = dict(lexicon.rank("小区燃气泄漏,物业不管"))
    for path, score in ranked.items():
        parts = path.split("/")
        for n in range(1, len(parts)):
            assert score <= ranked["/".join(parts[:n])] + 1e-12
    assert sum(s for p, s in ranked.items() if "/" not in p) == pytest.approx(1.0)
    assert lexicon.rank("请领导关注一下") == [("其他", 1.0)]


def test_every_keyword_key_and_unit_exists_in_the_lists(lexicon: Lexicon) -> None:
    lists = load_lists()
    assert set(lexicon.words) <= lists.category_keys
    assert set(lexicon.departments) <= set(lists.departments)
    # every 二级 of the taxonomy except the residual 其他 has words, at itself or below
    second = {f"{c.l1}/{c.l2}" for c in lists.taxonomy if c.l2 != "其他"}
    assert not {s for s in second if not any(k == s or k.startswith(s + "/") for k in lexicon.words)}


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "item_keywords.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": "t", "keywords": {"城乡建设/没有这个": ["燃气"]}}, "城乡建设/没有这个"),
        ({"version": "t", "keywords": {GAS: ["气"]}}, "at least 2 characters"),
        ({"version": "t", "keywords": {GAS: ["燃气"]}, "departments": {"燃气局": [GAS]}}, "燃气局"),
        ({"keywords": {GAS: ["燃气"]}}, "version"),
    ],
)
def test_a_bad_lexicon_is_refused_naming_the_entry(tmp_path: Path, data: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_lexicon(_write(tmp_path, data))


def test_the_training_frame_leaves_out_held_rows_and_their_duplicates(lexicon: Lexicon) -> None:
    pool = pd.DataFrame({
        "key": ["teddy_fj2_raw:1", "teddy_fj2_raw:2", "x:1", "x:2", "x:3", "x:4"],
        "source": ["teddy_fj2_raw", "teddy_fj2_raw", "x", "x", "x", "x"],
        "id": ["1", "2", "1", "2", "3", "4"],
        "text": ["燃气泄漏", "路灯不亮", "路灯坏了", "拖欠工资", "拖欠工资了", "请领导关注"],
        "teddy_label": ["城乡建设", "城乡建设", None, None, None, None],
        "fold": pd.array([0, 1, pd.NA, pd.NA, pd.NA, pd.NA], dtype="Int64"),
        "appeal": pd.array([0, 1, pd.NA, pd.NA, pd.NA, pd.NA], dtype="Int64"),
        "agency": [None] * 6,
        "reply": [None] * 6,
        "group": [10, 11, 11, 12, 12, 13],
    })
    # teddy_fj2_raw:1 is in the evaluation fold, x:3 is hand-labelled and x:4 duplicates it
    frame = training_frame(pool, ["x:3"], lexicon, eval_fold=0)
    assert set(frame["key"]) == {"teddy_fj2_raw:2", "x:1"}  # x:5-like rows with no evidence are dropped
    row = frame.set_index("key").loc["teddy_fj2_raw:2"]
    assert (row["l1"], row["rule"]) == ("城乡建设", "teddy_keyword")


# --------------------------------------------------------------------------- a cached training frame goes stale


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path, Path]]:
    """(processed folder with stand-in prepare output, a training frame recorded as built from it, lists folder
    in use: an editable copy of the packaged lists)."""
    lists = copy_lists(tmp_path)
    monkeypatch.setenv("MINYI_LISTS_DIR", str(lists))
    get_lists_settings.cache_clear()
    processed = tmp_path / "processed"
    processed.mkdir()
    for name in (APPEALS_FILE, COPIES_FILE):
        (processed / name).write_bytes(b"stand-in for prepare's output")
    frame = processed / TRAINING_FILE
    pd.DataFrame({"key": ["teddy_fj2:1"]}).to_parquet(frame)
    inputs_file(frame).write_text(json.dumps(build_inputs(processed)), encoding="utf-8")
    yield processed, frame, lists
    get_lists_settings.cache_clear()


def test_a_frame_built_from_the_same_inputs_is_up_to_date(built):
    processed, frame, _ = built
    assert stale_inputs(frame, processed) == []


def test_an_edited_lexicon_or_new_prepare_output_makes_it_stale(built):
    processed, frame, lists = built

    def add_word(data: dict) -> None:
        data["version"] = "test-2"
        data["keywords"]["政法/社会治安/治安案件"].append("被偷走")

    edit_yaml(lists, "item_keywords.yaml", add_word)
    assert stale_inputs(frame, processed) == ["lexicon"]
    (processed / APPEALS_FILE).write_bytes(b"prepare ran again on other data")
    assert stale_inputs(frame, processed) == ["lexicon", "appeals"]


def test_a_missing_frame_or_record_is_stale(built):
    processed, frame, _ = built
    inputs_file(frame).unlink()
    assert stale_inputs(frame, processed) == ["no record"]
    frame.unlink()
    assert stale_inputs(frame, processed) == ["no frame"]


def test_the_task_rebuilds_a_stale_frame_and_reads_a_fresh_one(built, monkeypatch: pytest.MonkeyPatch):
    """``minyi train`` reads the cached frame only while its inputs are unchanged (an administrator's edit to the
    lexicon reaches the next model), and rebuilds it otherwise."""
    processed, frame, lists = built
    cached = pd.DataFrame({"key": ["teddy_fj2:1"], "source": ["teddy_fj2"], "text": ["路灯不亮"],
                           "path": ["城乡建设/城市建设和市政管理"], "group": [1], "rule": ["keyword"]})
    cached.to_parquet(frame)
    rebuilt = cached.assign(text=["小区电动车被偷"], path=["政法/社会治安/治安案件"])
    calls: list[Path] = []

    def fake_build(processed_dir: Path, *args: object, **kwargs: object) -> tuple[Path, pd.DataFrame]:
        calls.append(processed_dir)
        return frame, rebuilt

    monkeypatch.setattr(wl, "write_training_frame", fake_build)
    assert subcategory_task(load_params(), processed_dir=processed).frame["text"].tolist() == ["路灯不亮"]
    assert calls == []
    edit_yaml(lists, "item_keywords.yaml", lambda data: data.update(version="test-3"))
    assert subcategory_task(load_params(), processed_dir=processed).frame["text"].tolist() == ["小区电动车被偷"]
    assert calls == [processed]
