"""The batch job's content check without a duplicate key (``has_text``) agrees with the keyed one."""

from __future__ import annotations

import sys
import unicodedata

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from minyi_nlp.data.validate import HTML_TRIGGERS, check_content, check_rows, content_key, has_text
from minyi_nlp.text import normalize_text


def test_html_triggers_are_every_character_that_normalises_to_a_tag_or_entity_start() -> None:
    derived = {
        chr(c)
        for c in range(sys.maxunicode + 1)
        if not 0xD800 <= c <= 0xDFFF and any(x in unicodedata.normalize("NFKC", chr(c)) for x in "<&")
    }
    assert derived == set(HTML_TRIGGERS)


def test_every_unified_ideograph_survives_normalisation_as_text() -> None:
    for c in range(0x4E00, 0xA000):
        assert unicodedata.normalize("NFKC", chr(c)) == chr(c)
        assert content_key(chr(c)), hex(c)


TRICKY = [
    "路灯不亮", "噪音", "<br>", "<p>路灯</p>", "<!-- 注释 -->", "＜b＞", "﹤i﹥", "&nbsp;", "&#20013;", "＆amp;",
    "_x000D_", "\u200b", "\x07", "，", "。", "！", "？", "（）", "①", "Ａ", "ｚ", "１", "_", "__", " ", "\u3000",
    "\t", "\n", "㊣", "々", "〇", "繁體", "說", "—", "…", "★", "😀", "a", "9", "<", ">", "&", "=", '"', "'",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TRICKY), min_size=1, max_size=8).map("".join))
def test_has_text_is_the_key_being_non_empty(text: str) -> None:
    assert has_text(text) == bool(content_key(text, normalize_text(text)))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=12))
def test_has_text_on_any_text(text: str) -> None:
    assert has_text(text) == bool(content_key(text, normalize_text(text)))


def test_check_without_key_gives_the_same_verdicts() -> None:
    texts = [None, "", "  ", "市民反映路灯不亮", "<br><br>", "<p>路灯</p>", "！！！", "&nbsp;", "x" * 50, "A市"]
    for text in texts:
        keyed = check_content(text, 40)
        bare = check_content(text, 40, key=False)
        assert bare[1] == keyed[1], text
        assert bare[0] == ""
    frame = pd.DataFrame({"row": range(1, len(texts) + 1), "id": [str(i) for i in range(len(texts))],
                          "content": texts})
    with_keys, _, keys = check_rows(frame, max_content_chars=40)
    without, _, blank = check_rows(frame, max_content_chars=40, with_keys=False)
    assert with_keys == without
    assert {p.rule for p in without} == {"content_empty", "content_no_text", "content_too_long"}
    assert set(blank) == {""} and keys.iloc[3]
