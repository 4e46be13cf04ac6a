"""Sites and people found in appeal texts, and when two appeals name different sites."""

from __future__ import annotations

import pytest

from minyi_nlp.hotspots.places import find_people, find_sites, site_signature, sites_conflict
from minyi_nlp.text import preprocess


@pytest.mark.parametrize(
    ("text", "site"),
    [
        ("A市A5区劳动东路魅力之城小区一楼的夜宵摊严重污染附近的空气", "劳动东路魅力之城小区"),
        ("投诉A2区丽发新城附近建搅拌站噪音扰民", "丽发新城"),
        ("A市伊景园滨河苑捆绑销售车位", "伊景园滨河苑"),
        ("A3区西湖街道茶场村五组什么时候能启动征地拆迁", "茶场村"),
        ("投诉A市温斯顿英语培训学校拖延退费！", "温斯顿英语培训学校"),
    ],
)
def test_finds_the_site_after_the_district(text: str, site: str) -> None:
    assert site in find_sites(preprocess(text))


@pytest.mark.parametrize(
    "text",
    [
        "丽发新城小区旁边建搅拌站",  # 搅拌站 is a facility, not a second site
        "投诉小区附近建设非法搅拌站",
        "A市58车贷老板跑路美国，经侦拖延办案",  # 跑路 is not a road
    ],
)
def test_generic_facilities_and_words_are_not_sites(text: str) -> None:
    sites = find_sites(preprocess(text))
    assert not any("搅拌" in s or "跑路" in s for s in sites), sites


def test_same_template_at_two_estates_conflicts_but_variants_of_one_name_do_not() -> None:
    a = site_signature(find_sites("A5区劳动东路魅力之城小区临街门面油烟直排扰民"))
    b = site_signature(find_sites("A3区梅溪湖看云路一师润芳园小区临街门面油烟直排扰民"))
    c = site_signature(find_sites("万科魅力之城小区底层门店深夜经营"))
    assert sites_conflict(a, b)
    assert not sites_conflict(a, c)
    assert not sites_conflict(a, frozenset())  # an appeal naming no site conflicts with nothing


def test_people_most_mentioned_first() -> None:
    text = "我们是58车贷的受害人，受害人众多，也有很多投资人"
    assert find_people(text)[0] == "受害人"
    assert find_people("路灯不亮") == []
