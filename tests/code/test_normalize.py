"""normalize_text: width folding, traditional→simplified, HTML, whitespace, robustness."""

from __future__ import annotations

import random

import pytest

from minyi_nlp.text import normalize_text, to_simplified


def test_full_and_half_width_give_the_same_text() -> None:
    full = "ＡＢＣ１２３，电话：０７３１－８８８８８８８８！（Ａ３区）　路灯不亮？ｅｍａｉｌ＠ｑｑ．ｃｏｍ"
    half = "ABC123,电话:0731-88888888!(A3区) 路灯不亮?email@qq.com"
    assert normalize_text(full) == normalize_text(half) == half


def test_chinese_full_stop_and_enumeration_comma_are_kept() -> None:
    assert normalize_text("路灯不亮。请尽快、立即处理") == "路灯不亮。请尽快、立即处理"
    assert normalize_text("ｘ｡") == normalize_text("x。")  # half-width ideographic full stop


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [("路燈不亮", "路灯不亮"), ("學校", "学校"), ("噪音擾民，請盡快處理", "噪音扰民,请尽快处理")],
)
def test_traditional_to_simplified(traditional: str, simplified: str) -> None:
    assert normalize_text(traditional) == simplified


def test_html_tags_stripped_and_entities_unescaped() -> None:
    assert normalize_text("<p>路灯<br/>不亮</p>&amp;&nbsp;小区&lt;A3区&gt;") == "路灯 不亮 & 小区<A3区>"
    assert normalize_text('<div class="x"><script>var a=1;</script>正文</div>') == "正文"


def test_angle_bracket_titles_and_placeholders_are_not_html() -> None:
    text = "根据<A市新图>和<A7县征地拆迁实施限价房供应方案>,联系<PHONE>"
    assert normalize_text(text) == text


def test_whitespace_padding_collapsed() -> None:
    raw = "\n\t\t\t\t\t\n\t\t\t\t\t潇楚南路从2018年开始修,\u3000\u3000到现在\xa0都快一年了\n\t\t\t\t\n"
    assert normalize_text(raw) == "潇楚南路从2018年开始修, 到现在 都快一年了"


def test_excel_escapes_and_invisible_characters_removed() -> None:
    assert normalize_text("第一行_x000D_\n第二行\u200b\ufeff") == "第一行 第二行"


@pytest.mark.parametrize("value", ["", "   \n\t ", None, float("nan")])
def test_empty_values_give_empty_string(value: object) -> None:
    assert normalize_text(value) == ""  # type: ignore[arg-type]


def test_never_raises_on_odd_strings() -> None:
    rng = random.Random(0)
    odd = ["\ud800路灯", "\x00\x01\x7f", "<<<>>>&&&;", "&#xZZ;", "<p", "_x000_", "\U0001f600" * 3]
    odd += ["".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(1, 40))) for _ in range(300)]
    for text in odd:
        out = normalize_text(text)
        assert isinstance(out, str)
        assert out == out.strip()


def test_idempotent_on_realistic_text() -> None:
    text = "\n\t\t尊敬的領導：ＡＢＣ小區<b>路燈</b>不亮，&amp;已經３個月了！"
    once = normalize_text(text)
    assert normalize_text(once) == once


def test_to_simplified_passes_ascii_through() -> None:
    assert to_simplified("abc 123") == "abc 123"
