"""Jurisdiction extraction: anonymised codes, real Shangluo names, streets, fallback, route labels."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from minyi_nlp.config import RESOURCES_DIR
from minyi_nlp.routing.jurisdiction import (
    Jurisdiction,
    build_street_gazetteer,
    find_jurisdiction,
    iter_places,
    load_gazetteer,
    route_label,
)
from minyi_nlp.routing.lists import ListsError, get_lists_settings


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_lists_settings.cache_clear()
    yield
    get_lists_settings.cache_clear()


def find(text: str) -> Jurisdiction:
    return find_jurisdiction(text, use_cpca=False)


def test_street_with_its_district() -> None:
    j = find("A3区洋湖街道某小区路灯不亮")
    assert (j.level, j.name, j.parent) == ("street", "洋湖街道", "A3区")
    assert j.matched == (3, 7)
    assert j.full_name == "A3区洋湖街道"


def test_district_only() -> None:
    j = find("A7县某学校食堂卫生差")
    assert (j.level, j.name, j.parent) == ("district", "A7县", "A市")
    assert j.matched == (0, 3)


def test_no_place_falls_back_to_default_city() -> None:
    j = find("小区门口垃圾没人清理")
    assert (j.level, j.name, j.matched, j.source) == ("city", "A市", None, "default")
    assert find_jurisdiction("没有地名", default_city="商洛市", use_cpca=False).name == "商洛市"


def test_default_city_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINYI_DEFAULT_CITY", "B市")
    get_lists_settings.cache_clear()
    assert find("没有地名").name == "B市"


def test_real_shangluo_names() -> None:
    j = find("商州区北新街小区停水三天")
    assert (j.level, j.name, j.parent) == ("district", "商州区", "商洛市")
    assert find("商洛市高铁站什么时候开工").name == "商洛市"
    town = find("洛南县石门镇的道路坑洼")
    assert (town.level, town.name, town.parent) == ("street", "石门镇", "洛南县")


def test_anonymised_levels() -> None:
    assert find("B9市某镇").level == "district"  # letter + digits + 市: a county-level city
    assert find("D12市新河镇").parent == "D12市"
    assert find("A市的政策").level == "city"
    assert find("M6州的学校").level == "city"  # prefecture
    assert find("小区B区3栋漏水").source == "default"  # a block of an estate, not a district
    assert find("用户UU0081461反映").source == "default"


def test_most_frequent_district_then_first() -> None:
    assert find("A5区的学生去A1区上学，A1区学位紧张").name == "A1区"
    assert find("A5区和A1区交界处").name == "A5区"


def test_gazetteer_street_without_district() -> None:
    j = find("泉塘街道办事处说会处理")
    assert (j.level, j.name, j.parent) == ("street", "泉塘街道", "A7县")


def test_street_of_another_district_is_ignored() -> None:
    j = find("A7县的问题，洋湖街道也有")
    assert (j.level, j.name) == ("district", "A7县")


def test_ambiguous_street_name_needs_the_district() -> None:
    gaz = load_gazetteer()
    assert len(gaz.parents_of("城关镇")) > 1
    assert find("城关镇的路灯").parent is None
    assert find("商南县城关镇的路灯").parent == "商南县"


def test_street_pattern_rejects_ordinary_words() -> None:
    places = iter_places("A7县城乡结合部和A7县各乡镇")
    assert [p.level for p in places] == ["district", "district"]
    assert all(p.name != "人民乡" for p in iter_places("推进人民乡村振兴"))


def test_short_names_only_on_request() -> None:
    assert iter_places("镇安全检查") == []
    assert [p.name for p in iter_places("丹凤人民政府", short_names=True)] == ["丹凤县"]


def test_route_label() -> None:
    assert route_label("住房和城乡建设局", find("A3区某小区")) == "A3区 住房和城乡建设局"
    assert route_label("街道办事处", find("A3区洋湖街道")) == "A3区洋湖街道 街道办事处"
    assert route_label("教育局", "商州区") == "商州区 教育局"
    assert route_label("教育局", None) == "教育局"


def test_cpca_real_names_when_installed() -> None:
    pytest.importorskip("cpca")
    j = find_jurisdiction("福建省福州市仓山区某小区噪音", use_cpca=True)
    assert (j.level, j.name, j.parent, j.source) == ("district", "仓山区", "福州市", "cpca")
    assert find_jurisdiction("祝您安康", use_cpca=True).source == "default"  # 安康 without 市 is a word


def test_build_street_gazetteer_drops_junk_prefixes() -> None:
    streets = build_street_gazetteer({"t": ["A7县安沙镇", "A7县安沙镇", "A7县是安沙镇", "K11县县涛圩镇"]})
    pairs = {(s.name, s.parent, s.count) for s in streets}
    assert ("安沙镇", "A7县", 2) in pairs
    assert ("涛圩镇", "K11县", 1) in pairs
    assert not any(s.name == "是安沙镇" for s in streets)


def test_broken_gazetteer_raises(tmp_path: Path) -> None:
    folder = tmp_path / "lists"
    shutil.copytree(RESOURCES_DIR / "lists", folder)
    path = folder / "gazetteer.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "  - {name: 'ab', parent: A1区, count: 1}\n", encoding="utf-8"
    )
    with pytest.raises(ListsError, match=r"gazetteer.yaml: entry streets\[\d+\] \(ab\): field 'name'"):
        load_gazetteer(folder)
