"""Hazard lexicon matcher: behaviour on Chinese appeals, context cues, spans and list validation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from minyi_nlp.config import RESOURCES_DIR
from minyi_nlp.routing.hazards import HAZARDS_FILE, load_hazards, parse_hazards
from minyi_nlp.routing.lists import ListsError, get_lists_settings
from minyi_nlp.text import preprocess

PACKAGED = RESOURCES_DIR / "lists" / HAZARDS_FILE


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    load_hazards.cache_clear()  # type: ignore[attr-defined]
    get_lists_settings.cache_clear()
    yield
    load_hazards.cache_clear()  # type: ignore[attr-defined]
    get_lists_settings.cache_clear()


@pytest.fixture(scope="module")
def lexicon():  # type: ignore[no-untyped-def]
    return parse_hazards(PACKAGED)


def verdict(lexicon, text: str):  # type: ignore[no-untyped-def]
    return lexicon.match(preprocess(text))


# ----------------------------------------------------------------------------- behaviour (issue 12)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("燃气泄漏，随时可能爆炸", "gas"),
        ("电梯困人", "lift"),
        ("我们小区3栋电梯今天又把人困在里面半小时", "lift"),
        ("化工厂半夜偷排危化品废水到河里，河水发黑", "hazardous_chemical"),
        ("楼道里闻到很浓的煤气味，请马上来人", "gas"),
        ("小区门口电线裸露，小孩经常从旁边经过", "electrocution"),
        ("商场外墙广告牌松动，随时会掉下来", "falling_object"),
        ("我家孩子走失两个小时了", "missing_person"),
        ("路口井盖丢失，晚上看不见", "open_pit"),
    ],
)
def test_life_safety_appeals_are_urgent(lexicon, text: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    result = verdict(lexicon, text)
    assert result.urgent, (text, result.hits)
    assert kind in result.kinds


@pytest.mark.parametrize(
    "text",
    [
        "楼下烧烤店噪音扰民",
        "去年的燃气费太贵",
        "请问危房改造补助什么时候发放",
        "K9县贫困人口的低保申请",
        "小区天然气开户费太贵了",
        "没有燃气泄漏，是误报",
        "上次的燃气泄漏物业已修好了",
    ],
)
def test_ordinary_appeals_are_not_urgent(lexicon, text: str) -> None:  # type: ignore[no-untyped-def]
    result = verdict(lexicon, text)
    assert not result.urgent, (text, result.hits)


def test_resolved_hazard_that_persists_stays_urgent(lexicon) -> None:  # type: ignore[no-untyped-def]
    result = verdict(lexicon, "燃气管道漏气，物业说已修好，但至今仍有煤气味。")
    assert result.urgent
    assert all(h.status == "present" for h in result.hits if h.kind == "gas")


def test_cue_statuses(lexicon) -> None:  # type: ignore[no-untyped-def]
    statuses = {
        "燃气泄漏已修好": "resolved",
        "没有燃气泄漏": "negated",
        "一旦漏电后果不堪设想": "hedged",
        "去年小区起火": "historical",
        "楼道起火了": "present",
    }
    for text, status in statuses.items():
        hits = verdict(lexicon, text).hits
        assert [h.status for h in hits] == [status], (text, hits)
    assert verdict(lexicon, "一旦漏电后果不堪设想").hits[0].confidence < verdict(lexicon, "楼道漏电").hits[0].confidence


def test_document_context_lowers_confidence(lexicon) -> None:  # type: ignore[no-untyped-def]
    plain = verdict(lexicon, "房屋倒塌")
    after = verdict(lexicon, "房屋倒塌，至今没有得到赔偿")
    assert "aftermath" in after.context and not plain.context
    assert after.score < plain.score
    assert plain.urgent and not after.urgent


def test_kind_scores_cover_weak_hits(lexicon) -> None:  # type: ignore[no-untyped-def]
    scores = verdict(lexicon, "燃气泄漏，小区存在安全隐患").kind_scores()
    assert scores["gas"] >= 0.9
    assert 0 < scores["life_threat"] < lexicon.flag_at


def test_spans_point_at_the_text(lexicon) -> None:  # type: ignore[no-untyped-def]
    text = preprocess("您好，我们楼下燃气泄漏了，味道很大")
    for hit in lexicon.match(text).hits:
        assert text[hit.start : hit.end] == hit.term
    gas = [h for h in lexicon.match(text).hits if h.kind == "gas"]
    assert gas and gas[0].term == "燃气泄漏"


def test_excluded_phrases_do_not_hit(lexicon) -> None:  # type: ignore[no-untyped-def]
    for text in ("危房改造资金", "跳楼价甩卖", "扶贫工作覆盖贫困人口", "农户为了减轻生产成本冒险通行", "珍惜年轻生命"):
        assert not lexicon.match(text).hits, text
    assert lexicon.match("他最近情绪低落，有轻生的念头").kinds == ("self_harm",)


def test_anchored_pattern_and_covered_hits(lexicon) -> None:  # type: ignore[no-untyped-def]
    result = verdict(lexicon, "施工队挖断了小区的天然气管道")
    assert result.urgent and "gas" in result.kinds
    # a hit inside a longer hit of the same kind is reported once
    explosion = [h for h in verdict(lexicon, "随时可能爆炸").hits if h.kind == "explosion"]
    assert [h.term for h in explosion] == ["随时可能爆炸"]


def test_every_kind_has_terms_and_a_description(lexicon) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))
    used = {e["kind"] for e in data["hazards"]}
    assert used == set(lexicon.kinds)
    assert {"gas", "fire", "collapse", "electrocution", "drowning", "lift", "falling_object", "hazardous_chemical",
            "poisoning", "epidemic", "self_harm", "missing_person"} <= used


# ----------------------------------------------------------------------------- loading and validation


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / HAZARDS_FILE
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _minimal() -> dict:
    entry = {"kind": "gas", "confidence": 0.9, "terms": ["漏气"]}
    return {"version": "t", "kinds": {"gas": "燃气"}, "hazards": [entry]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["hazards"][0].update(kind="smoke"), "hazards[0]: field 'kind'"),
        (lambda d: d["hazards"][0].update(confidence=1.5), "hazards[0]: field 'confidence'"),
        (lambda d: d["hazards"][0].update(terms=[]), "hazards[0]: field 'terms'"),
        (lambda d: d["hazards"][0].update(patterns=[{"regex": "(", "anchor": "气"}]), "patterns[0]: field 'regex'"),
        (lambda d: d["hazards"][0].update(patterns=[{"regex": "a"}]), "patterns[0]: field 'regex/anchor'"),
        (lambda d: d["hazards"][0].update(colour="red"), "hazards[0]: field 'colour'"),
        (lambda d: d.update(context={"x": {"factor": 2, "words": ["a"]}}), "context.x: field 'factor'"),
        (lambda d: d.update(cues={"maybe": ["a"]}), "entry cues"),
        (lambda d: d.pop("version"), "field 'version'"),
        (lambda d: d.update(responders={"smoke": ["消防救援"]}), "entry responders.smoke: field"),
        (lambda d: d.update(responders={"gas": "燃气企业"}), "entry responders.gas: field"),
        (lambda d: d.update(responder_weight=2), "field 'responder_weight'"),
    ],
)
def test_invalid_lexicon_names_entry_and_field(  # type: ignore[no-untyped-def]
    tmp_path: Path, change, message: str
) -> None:
    data = _minimal()
    change(data)
    with pytest.raises(ListsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_hazards(_write(tmp_path, data))


def test_minimal_lexicon_matches(tmp_path: Path) -> None:
    lexicon = parse_hazards(_write(tmp_path, _minimal()))
    assert lexicon.match("管道漏气").urgent
    assert not lexicon.match("管道正常").hits


def test_lists_dir_override_and_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    _write(custom, _minimal())
    monkeypatch.setenv("MINYI_LISTS_DIR", str(custom))
    assert load_hazards().version == "t"
    load_hazards.cache_clear()  # type: ignore[attr-defined]
    empty = tmp_path / "older_lists"
    shutil.copytree(RESOURCES_DIR / "lists", empty, ignore=shutil.ignore_patterns(HAZARDS_FILE))
    monkeypatch.setenv("MINYI_LISTS_DIR", str(empty))
    get_lists_settings.cache_clear()
    assert load_hazards().version == parse_hazards(PACKAGED).version


def test_responders_name_department_types_and_come_strongest_kind_first(lexicon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Every packaged responder is a department type of the packaged lists; a lexicon naming an unknown one is
    refused when checked against them, naming the kind and the name."""
    from minyi_nlp.routing import load_lists

    departments = load_lists().departments
    lexicon.check_responders(departments)
    assert set(lexicon.responders) <= set(lexicon.kinds)
    assert list(lexicon.responders_of(["gas", "fire"])) == ["燃气企业", "住房和城乡建设局", "消防救援", "应急管理局"]
    assert lexicon.responders_of(["gas"])["燃气企业"] == lexicon.kinds["gas"]
    assert lexicon.responders_of(["life_threat"]) == {}
    data = _minimal()
    data["responders"] = {"gas": ["燃气公司"]}
    with pytest.raises(ListsError, match=r"responders.gas: field '\(list\)': '燃气公司' is not a department type"):
        parse_hazards(_write(tmp_path, data)).check_responders(departments)
