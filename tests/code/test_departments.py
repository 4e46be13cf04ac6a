"""Department labels: agency-name normalisation, reply rules, frames and the derivation report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.routing import departments
from minyi_nlp.routing.departments import derive_from_reply, derive_labels, mask_phones, normalise_department


def dept(raw: str) -> str | None:
    match = normalise_department(raw)
    return match.department if match else None


@pytest.mark.parametrize(
    "raw", ["市信息办", "信息办", "市政府信息办", "市信息中心", "市政务信息办", "市政务信息服务中心"]
)
def test_information_office_variants_merge(raw: str) -> None:
    match = normalise_department(raw)
    assert match is not None
    assert (match.department, match.generic, match.level) == ("信息办", True, "city")


@pytest.mark.parametrize(
    "raw", ["商洛市公安局交通警察支队", "商洛市公安局交警支队", "市交警支队", "商洛市公安局交警支队车管所"]
)
def test_traffic_police_variants_merge(raw: str) -> None:
    match = normalise_department(raw)
    assert match is not None and match.department == "交警"
    assert not match.generic


def test_police_is_not_traffic_police() -> None:
    assert dept("商洛市公安局") == "公安局"
    assert dept("商洛市公安局商州分局") == "公安局"


@pytest.mark.parametrize(
    ("raw", "expected", "jurisdiction"),
    [
        ("商州区人民政府办公室", "区县人民政府", "商州区"),
        ("洛南县政府办", "区县人民政府", "洛南县"),
        ("丹凤人民政府办公室", "区县人民政府", "丹凤县"),
        ("商洛市人民政府", "市人民政府", "商洛市"),
        ("丹凤县", "区县人民政府", "丹凤县"),
        ("中共商州区委 商州区人民政府", "党委", "商州区"),
    ],
)
def test_generic_offices_are_flagged(raw: str, expected: str, jurisdiction: str) -> None:
    match = normalise_department(raw)
    assert match is not None
    assert (match.department, match.jurisdiction, match.generic) == (expected, jurisdiction, True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("商洛市住房和城乡建设局", "住房和城乡建设局"),
        ("市住建局", "住房和城乡建设局"),
        ("商洛市城市管理局", "城市管理和行政执法局"),
        ("商洛市人力资源和社会保障局", "人力资源和社会保障局"),
        ("商洛市卫生健康委委员会", "卫生健康委员会"),
        ("市计生局", "卫生健康委员会"),
        ("洛南县科技和教育体育局", "教育局"),
        ("商洛市移民（脱贫）搬迁工作办公室", "移民办"),
        ("市城管局 市交警支队", "城市管理和行政执法局"),  # several units: the first
        ("市水利局党委", "水利局"),  # a generic tail does not replace the line unit
    ],
)
def test_line_departments(raw: str, expected: str) -> None:
    match = normalise_department(raw)
    assert match is not None
    assert match.department == expected
    assert not match.generic


def test_street_level_units() -> None:
    match = normalise_department("镇安县人民政府永乐街道办事处")
    assert match is not None
    assert (match.department, match.level, match.jurisdiction) == ("街道办事处", "street", "镇安县永乐街道")
    town = normalise_department("洛南县永丰镇人民政府")
    assert town is not None and (town.department, town.jurisdiction) == ("乡镇人民政府", "洛南县永丰镇")


@pytest.mark.parametrize("raw", ["彭珊", "", "商洛职业技术学院", None])
def test_unknown_or_person_gives_none(raw: str | None) -> None:
    assert normalise_department(raw) is None  # type: ignore[arg-type]


def test_reply_signature_with_date() -> None:
    reply = (
        "网友“UU0081234”您好！来信收悉。现回复如下：线路已调整。感谢您的支持！A市交通运输局 2014年12月12日"
    )
    match = derive_from_reply(reply)
    assert match is not None
    assert (match.department, match.jurisdiction, match.rule) == ("交通运输局", "A市", "signature")


def test_reply_signature_with_unlisted_street() -> None:
    match = derive_from_reply("特此回复。附件：《调查处理情况的报告》王家河街道办事处2019年3月27日")
    assert match is not None and (match.department, match.rule) == ("街道办事处", "signature")


def test_reply_explicit_unit() -> None:
    reply = "您好！您反映的校车问题，A7县教育局组织人员进行了调查，现回复如下：已整改。"
    match = derive_from_reply(reply)
    assert match is not None
    assert (match.department, match.jurisdiction, match.level) == ("教育局", "A7县", "district")
    assert match.rule in {"self_action", "explicit_unit"}


def test_reply_transfer_beats_the_generic_sender() -> None:
    match = derive_from_reply("网友：您好！市信息办已收悉，您反映的问题已转市住建局调查处理。")
    assert match is not None
    assert (match.department, match.rule, match.level) == ("住房和城乡建设局", "transfer", "city")


def test_reply_street_acts() -> None:
    match = derive_from_reply("您好！针对您反映的路灯问题，A3区洋湖街道高度重视，立即安排人员维修。")
    assert match is not None
    assert (match.department, match.jurisdiction, match.generic) == ("街道办事处", "A3区洋湖街道", False)


def test_reply_generic_only_when_nothing_else() -> None:
    match = derive_from_reply("您好！A5区高度重视您反映的问题，正在研究。")
    assert match is not None
    assert (match.department, match.generic) == ("区县人民政府", True)


def test_reply_without_unit_gives_none() -> None:
    assert derive_from_reply("网友：您好！留言已收悉，感谢您的关注。2019年5月5日") is None
    assert derive_from_reply("") is None


def test_derive_labels_on_both_sources() -> None:
    teddy = pd.DataFrame({"留言编号": [1, 2], "答复意见": ["已转县人社局核处。", "留言已收悉。"]})
    out = derive_labels(teddy)
    assert out["department"].iloc[0] == "人力资源和社会保障局"
    assert pd.isna(out["department"].iloc[1])
    assert {"department", "dept_jurisdiction", "dept_generic", "dept_rule"} <= set(out.columns)
    shangluo = pd.DataFrame({"mail_id": [1, 2], "reply_agency": ["市信息中心", "商洛市教育局"]})
    out = derive_labels(shangluo, default_city="商洛市")
    assert list(out["department"]) == ["信息办", "教育局"]
    assert list(out["dept_jurisdiction"]) == ["商洛市", "商洛市"]
    assert list(out["dept_generic"]) == [True, False]
    assert list(out["dept_rule"]) == ["agency_unit", "agency_unit"]


def test_mask_phones() -> None:
    assert "0731" not in mask_phones("请致电0731-12345678或13812345678咨询")
    assert mask_phones("2019年3月27日") == "2019年3月27日"


def test_write_report_keeps_hand_judgements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    teddy = pd.DataFrame(
        {
            "留言编号": [10, 11, 12],
            "留言主题": ["a", "b", "c"],
            "留言详情": ["", "", ""],
            "答复意见": ["已转市城管局调查处理。", "感谢支持！A7县教育局2019年1月2日", "收悉。"],
        }
    )
    shangluo = pd.DataFrame(
        {
            "mail_id": [1, 2],
            "title": ["", ""],
            "query": ["", ""],
            "reply": ["已转市交警支队阅处。", "请咨询商洛市教育局。"],
            "reply_agency": ["商洛市公安局交警支队", "市信息办"],
        }
    )
    monkeypatch.setattr(departments, "load_teddy_replies", lambda path=None: teddy.copy())
    monkeypatch.setattr(departments, "load_shangluo", lambda path=None: shangluo.copy())
    md = departments.write_report(tmp_path, sample_sizes={"teddy_fj4": 2, "shangluo": 2})
    sample_csv = tmp_path / "department_labels_sample.csv"
    sample = pd.read_csv(sample_csv, dtype=str)
    assert list(sample.columns) == departments.SAMPLE_COLUMNS
    assert len(sample) == 4
    assert "Not judged yet" in md.read_text(encoding="utf-8")
    sample["correct"], sample["note"] = "1", "checked"
    sample.to_csv(sample_csv, index=False)
    text = departments.write_report(tmp_path, sample_sizes={"teddy_fj4": 2, "shangluo": 2}).read_text(
        encoding="utf-8"
    )
    assert "| all | 4 | 4 | 100 % |" in text
    assert (pd.read_csv(sample_csv, dtype=str)["note"] == "checked").all()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("尊敬的A3区城管局：小区门口占道经营", "城市管理和行政执法局"),
     ("请县教育局核查学校乱收费", "教育局"),
     ("已向派出所报警但无人处理", "公安局")],
)
def test_unit_name_rules_fire_on_the_unit_an_appeal_names(text: str, expected: str) -> None:
    from minyi_nlp.dispatch.build import keyword_sources
    from minyi_nlp.models.heads import KeywordRules
    from minyi_nlp.models.training import read_keyword_rules

    rules = read_keyword_rules("departments", keyword_sources())
    assert rules == departments.unit_name_rules()
    assert expected in KeywordRules(weight=0.3, rules=rules).fired(text)
    assert "教育局" not in KeywordRules(weight=0.3, rules=rules).fired("路灯不亮，晚上出行不便")
