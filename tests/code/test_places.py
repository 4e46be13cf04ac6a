"""The place of the matter: comparisons, origins and name parts are not it; units sit at the right level;
the gazetteer automaton finds what a regex alternation of the names finds."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from minyi_nlp.routing.jurisdiction import (
    _PLACE_KINDS,
    _STREET_KINDS,
    Jurisdiction,
    _all_hits,
    _gazetteer_matcher,
    _leftmost_longest,
    find_jurisdiction,
    load_gazetteer,
    place_at_level,
)
from minyi_nlp.routing.lists import get_lists_settings


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_lists_settings.cache_clear()
    yield
    get_lists_settings.cache_clear()


def find(text: str) -> Jurisdiction:
    return find_jurisdiction(text, use_cpca=False)


def test_noise_at_a_named_street_goes_to_that_street_or_its_district() -> None:
    street = find("A3区洋湖街道某小区楼下夜宵店噪音扰民，每晚吵到凌晨两点")
    assert place_at_level(street, "street", "A市", "街道办事处") == "A3区洋湖街道"
    assert place_at_level(street, "district", "A市", "生态环境局") == "A3区"
    # a 街道 is never paired with 乡镇人民政府: the district takes it
    assert place_at_level(street, "street", "A市", "乡镇人民政府") == "A3区"
    town = find("A7县黄兴镇一家石材厂噪音扰民")
    assert place_at_level(town, "street", "A市", "乡镇人民政府") == "A7县黄兴镇"
    assert place_at_level(town, "street", "A市", "街道办事处") == "A7县"


def test_only_a_district_named_gives_a_district_unit() -> None:
    j = find("A7县某学校门口商贩噪音扰民")
    assert place_at_level(j, "street", "A市", "街道办事处") == "A7县"
    assert place_at_level(j, "city", "A市", "供水企业") == "A市"


def test_an_appeal_in_another_city_never_goes_to_the_default_city() -> None:
    j = find("B9市阳三街道自来水停水三天无人处理")
    assert (j.level, j.name, j.parent, j.city) == ("street", "阳三街道", "B9市", "B市")
    routes = {place_at_level(j, level, "A市", dept) for level, dept in
              (("city", "供水企业"), ("district", "住房和城乡建设局"), ("street", "街道办事处"))}
    assert routes == {"B市", "B9市", "B9市阳三街道"}
    assert not any(r.startswith("A市") for r in routes)
    assert place_at_level(find("K市的公交站台被拆了"), "city", "A市", "交通运输局") == "K市"
    assert place_at_level(find("商州区北新街停水"), "city", "A市", "供水企业") == "商洛市"


@pytest.mark.parametrize(
    "text",
    [
        "E市的公交线路太少了，比M7市差远了",
        "E市的公交线路太少了，不像M7市那样方便",
        "和M7市相比，E市的公交线路太少了",
        "M7市都开通地铁了，E市什么时候开通",
    ],
)
def test_a_comparison_is_not_the_place(text: str) -> None:
    assert find(text).name == "E市"


def test_the_same_words_without_a_comparison_keep_the_place() -> None:
    assert find("投诉C市三中寒假违规补课，宣称整个C2区都是一样要补课收费的").name == "C2区"
    assert find("E市的公交和M7市一样差，E市什么时候改").name == "E市"


def test_comparison_only_falls_back_to_the_default_city() -> None:
    assert find("希望我们这里的公交能像M7市一样方便").source == "default"


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("我是B9市人，在A3区一家公司上班，公司拖欠工资半年", "A3区"),
        ("本人老家在K6县，现住A5区某小区，物业乱收费", "A5区"),
        ("我来自L3县，在A1区打工，工地欠薪", "A1区"),
    ],
)
def test_the_citizens_origin_is_not_the_place(text: str, place: str) -> None:
    assert find(text).name == place


def test_the_origin_is_the_place_when_nothing_else_is_named() -> None:
    assert find("我老家在K6县，村里的路多年没修").name == "K6县"
    j = find("我是L3县荔溪乡人，孩子在L3县一直上不了户")  # the home town's street, in the matter's district
    assert (j.name, j.parent) == ("荔溪乡", "L3县")


def test_anonymised_codes_inside_names_are_not_places() -> None:
    assert find("请求加快A市红旗路A9市河大桥北段建设").name == "A市"  # A9市河: a river
    assert find("A1区南路暮云段路灯不亮，在A7县境内").name == "A7县"  # A1区南路: a road


# --------------------------------------------------------------------------- the automaton


def _regex_reference(text: str, names: list[str], street: bool) -> list[tuple[int, int, str]]:
    """The matcher before the automaton: one alternation, longest name first, 乡 not before 村/镇 …"""
    alternation = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    pattern = rf"(?:{alternation})(?!(?<=乡)[村镇亲下土音])" if street else alternation
    return [(m.start(), m.end(), m.group(0)) for m in re.finditer(pattern, text)]


def test_automaton_finds_what_the_alternation_found() -> None:
    gaz = load_gazetteer()
    places, streets = list(gaz.places), list(gaz.streets)
    rng = random.Random(7)
    filler = "的在路口小区和村镇乡下人民县市区"
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 8)):
            pick = rng.random()
            if pick < 0.35:
                parts.append(rng.choice(streets))
            elif pick < 0.5:
                parts.append(rng.choice(places))
            elif pick < 0.6:  # a prefix or suffix of a name: overlapping candidates
                name = rng.choice(streets)
                parts.append(name[rng.randint(0, 1):] if rng.random() < 0.5 else name[:-1])
            else:
                parts.append("".join(rng.choices(filler, k=rng.randint(0, 4))))
        text = "".join(parts)
        hits = _all_hits(text, _gazetteer_matcher(gaz))
        assert _leftmost_longest(hits, _PLACE_KINDS) == _regex_reference(text, places, False), text
        assert _leftmost_longest(hits, _STREET_KINDS) == _regex_reference(text, streets, True), text
