"""The fast paths of place finding against their plain references: one automaton pass for anonymised codes
and gazetteer names (vs ``_ANON_RE`` and ``_all_hits``), and the quick "no reason" check of ``aside_reason``
(vs the chain of patterns it stands for)."""

from __future__ import annotations

import random
import re
import sys

import pytest

from minyi_nlp.routing.jurisdiction import (
    _LAST_DIGIT_PLANE_END,
    Jurisdiction,
    _all_hits,
    _anon_mentions,
    _gazetteer_matcher,
    _non_ascii_digits,
    _scan,
    aside_reason,
    iter_places,
    load_gazetteer,
)
from minyi_nlp.text import normalize_text

# aside_reason as written before its quick check (and before the lookbehind of 像 moved after it)
_REF_COMPARE_BEFORE = re.compile(
    r"(?:比起?|不像|不如|(?<![好就图想录影])像|对比|相比|参照|参考|借鉴|效仿|羡慕|人家)"
    r"(?:隔壁|周边|邻近|其他|别的)?(?:的)?$"
)
_REF_COMPARE_AFTER = re.compile(r"^[^，。！？；,.!?;]{0,4}(?:相比|比较)")
_REF_ALIKE_BEFORE = re.compile(r"[和跟与同]$")
_REF_ALIKE_AFTER = re.compile(r"^[^，。！？；,.!?;]{0,4}(?:一样|那样|似的|差不多)")
_REF_ASIDE_AFTER = re.compile(r"^(?:都[^，。！？；,.!?;]{0,12}了|早就|早已|已经[^，。！？；,.!?;]{0,10}了)")
_REF_HOME_BEFORE = re.compile(r"(?:老家|家乡|故乡|原籍|籍贯|祖籍|户籍地?|出生地?|生于|来自)(?:在|是|于|为|地)?[:：]?$")
_REF_HOME_AFTER = re.compile(r"^(?:人(?![民员社大才力口事武])|籍)")
_REF_NAME_PART = re.compile(r"(?:河(?!东(?!岸)|西(?!岸))|[东南西北中]?路(?!口镇)|大道|坡(?!子街))")


def _reference_reason(text: str, place: Jurisdiction) -> str | None:
    assert place.matched is not None
    start, end = place.matched
    if place.level == "district" and place.source == "anonymised" and _REF_NAME_PART.match(text, end):
        return "name part"
    before, after = text[max(0, start - 8) : start], text[end : end + 8]
    if (
        _REF_COMPARE_BEFORE.search(before)
        or _REF_COMPARE_AFTER.match(after)
        or (_REF_ALIKE_BEFORE.search(before) and _REF_ALIKE_AFTER.match(after))
    ):
        return "comparison"
    if _REF_HOME_BEFORE.search(before) or _REF_HOME_AFTER.match(after):
        return "origin"
    if _REF_ASIDE_AFTER.match(after):
        return "aside"
    return None


_CONTEXT_WORDS = (
    "比", "比起", "不像", "不如", "好像", "就像", "像", "对比", "相比", "参照", "借鉴", "羡慕", "人家", "隔壁",
    "其他", "的", "和", "跟", "与", "同", "老家", "家乡", "户籍地", "出生", "来自", "在", "是", ":", "：",
    "人", "人民", "籍", "一样", "那样", "差不多", "比较", "都", "了", "早就", "已经", "，", "。", "河", "河东",
    "河东岸", "路", "南路", "路口镇", "大道", "坡", "坡子街", "小区", "投诉", "A", "x",
)


def _random_text(rng: random.Random, names: list[str]) -> str:
    codes = ["A市", "A3区", "B区", "C12县", "M6州", "D9市", "K05区", "AB3区", "xA1市", "A123区", "A3区A5区",
             "A３区", "A٣县", "B1٣市", "7A2区", "Z99州"]
    parts = []
    for _ in range(rng.randint(1, 10)):
        pick = rng.random()
        if pick < 0.3:
            parts.append(rng.choice(codes))
        elif pick < 0.45:
            parts.append(rng.choice(names))
        else:
            parts.append("".join(rng.choices(_CONTEXT_WORDS, k=rng.randint(0, 4))))
    return "".join(parts)


def test_the_digits_the_automaton_knows_are_those_of_the_regex() -> None:
    every = "".join(map(chr, range(0x80, sys.maxunicode + 1)))
    assert set(_non_ascii_digits()) == set(re.findall(r"\d", every))
    assert not re.search(r"\d", every[_LAST_DIGIT_PLANE_END - 0x80 :])


def test_one_pass_finds_the_codes_of_the_regex_and_the_names_of_the_automaton() -> None:
    gaz = load_gazetteer()
    matcher = _gazetteer_matcher(gaz)
    names = [*gaz.places, *gaz.alias_to_place, *gaz.streets]
    rng = random.Random(11)
    for _ in range(2000):
        text = _random_text(rng, names)
        assert _scan(text, gaz) == (_anon_mentions(text), _all_hits(text, matcher)), text


def test_the_quick_check_gives_the_reasons_of_the_full_chain() -> None:
    gaz = load_gazetteer()
    names = [*gaz.places, *gaz.streets]
    rng = random.Random(5)
    seen: set[str | None] = set()
    for _ in range(3000):
        text = _random_text(rng, names)
        for place in iter_places(text, gazetteer=gaz):
            reason = aside_reason(text, place)
            assert reason == _reference_reason(text, place), (text, place)
            seen.add(reason)
    assert seen == {None, "name part", "comparison", "origin", "aside"}


def test_real_texts_give_what_the_references_give() -> None:
    from minyi_nlp.data import load_source

    try:
        frame = load_source("teddy_fj4_replies").frame
    except (FileNotFoundError, OSError) as exc:  # no raw data in this checkout
        pytest.skip(f"raw data not available: {exc}")
    gaz = load_gazetteer()
    matcher = _gazetteer_matcher(gaz)
    for title, content in zip(frame["title"].fillna(""), frame["content"].fillna(""), strict=True):
        text = normalize_text(f"{title} {content}".strip())
        assert _scan(text, gaz) == (_anon_mentions(text), _all_hits(text, matcher)), text
        for place in iter_places(text, gazetteer=gaz):
            assert aside_reason(text, place) == _reference_reason(text, place), (text, place)
