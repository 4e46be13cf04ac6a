"""The Aho–Corasick pre-filter of keyword rules answers exactly as searching every rule."""

from __future__ import annotations

import random
import re

import pytest

from minyi_nlp.models.training import read_keyword_rules
from minyi_nlp.routing.departments import unit_name_rules
from minyi_nlp.text.rule_filter import RuleFilter, literal_prefixes, required_literals

TEXTS = [
    "A3区某小区燃气管道漏气，已向燃气公司和住建局反映，请公安局、派出所和消防支队尽快处理。",
    "我建议市教育局调整学位分配；请问教委什么时候答复？县委、区人民政府、乡政府、镇党委都说不归他们管。",
    "共青团A市委、团委、集团委员会、市委员会、纪委",
    "交警大队、车管所、公安分局交通警察支队、交通管理局、交管",
    "科技和教育体育局、教育和体育局、教育体育和科技局",
    "",
    "完全无关的话",
    "。建议，建议",
]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("公安(?:分)?局", {"公安局", "公安分局"}),
    ("(?:(?:科技和)?教育(?:和)?体育局)", {"科技和教育和体育局", "科技和教育体育局", "教育和体育局", "教育体育局"}),
    ("教委(?!员)", {"教委"}),
    ("(?:(?<![镇乡])(?:市|区)委)", {"市委", "区委"}),
    ("a+b", {"a"}),
    ("(?:ab)?c", {"abc", "c"}),
    ("(?:^|[\\s。])建议", {""}),
    ("[^a]b", {""}),
    ("(?i)abc", {""}),
])
def test_literal_prefixes(pattern, expected):
    assert literal_prefixes(pattern) == expected


@pytest.mark.parametrize(("pattern", "expected"), [
    ("公安(?:分)?局", {"公安局", "公安分局"}),
    ("(?:^|[\\s。])建议", {"建议"}),
    ("(?:^|[\\s。，,！!；;])建议|我建议|提议|倡议", {"建议", "我建议", "提议", "倡议"}),
    ("[^a]b", {"b"}),
    ("a.*b", {"a"}),
    (".*[0-9]", {""}),
    ("x|[0-9]+", {""}),
    ("(?i)abc", {""}),
    ("x(?i:abc)", {"x"}),
    ("(?i:abc)d", {"d"}),
])
def test_required_literals(pattern, expected):
    """Where a pattern has no literal prefix, a literal every match contains still lets the filter skip it."""
    assert required_literals(pattern) == expected
    rx = re.compile(pattern)
    for text in TEXTS + ["xb", "ab", "a1b", "9", "我建议", "提议。", "倡议书", "xABC", "ABCd"]:
        if rx.search(text):
            assert "" in expected or any(lit in text for lit in expected), (pattern, text)


def _rule_sets() -> list[list[tuple[str, str]]]:
    return [unit_name_rules(), read_keyword_rules("appeal_type")]


@pytest.mark.parametrize("which", [0, 1])
def test_filter_finds_exactly_the_rules_that_match(which):
    rules = _rule_sets()[which]
    compiled = [re.compile(p) for _, p in rules]
    fast = RuleFilter(compiled)
    # texts made of the rules' own words, cut and joined at random, so near misses are common
    rng = random.Random(which)
    words = [w for _, p in rules for w in re.findall(r"[\u4e00-\u9fff]+", p)]
    texts = TEXTS + ["".join(rng.choice(words)[rng.randrange(3):] + rng.choice("，。的了区市镇乡团")
                             for _ in range(rng.randrange(1, 6))) for _ in range(2000)]
    fired = 0
    for text in texts:
        slow = [i for i, rx in enumerate(compiled) if rx.search(text)]
        assert fast.search(text) == slow, text
        fired += bool(slow)
    assert fired > 500  # the texts exercise the rules


def test_keyword_rules_fire_through_the_filter():
    from minyi_nlp.models.heads import KeywordRules

    rules = KeywordRules(weight=0.3, rules=unit_name_rules())
    assert "公安局" in rules.fired("昨晚派出所民警来过")
    assert "消防救援" in rules.fired("消防大队检查了楼道")
    assert rules.fired("完全无关的话") == []


def test_filter_answers_as_the_regexes_beside_emoji_and_full_width_letters():
    compiled = [re.compile(p) for _, p in unit_name_rules()]
    fast = RuleFilter(compiled)
    texts = ["😀ＡＢＣ交警大队abc", "x" * 10 + "消防大队" + "\U0001f600", "派出😀所", "𠀀派出所不管"]
    for text in texts:
        assert fast.search(text) == [i for i, rx in enumerate(compiled) if rx.search(text)], ascii(text)
    assert fast.search("派出😀所") == [] and fast.search("𠀀派出所不管")
