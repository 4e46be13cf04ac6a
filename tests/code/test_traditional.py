"""The OpenCC gate (minyi_nlp.text.traditional) and the fast NFKC give the same text as OpenCC and
unicodedata themselves."""

from __future__ import annotations

import random
import unicodedata

import pytest

from minyi_nlp.text.normalize import _get_converter, nfkc, normalize_text, to_simplified
from minyi_nlp.text.traditional import build_triggers, dictionary_entries, has_traditional, triggers_file


@pytest.fixture(scope="module")
def entries() -> list[tuple[str, str]]:
    return list(dictionary_entries())


@pytest.fixture(scope="module")
def real_texts() -> list[str]:
    from minyi_nlp.data import load_source

    frame = load_source("teddy_fj2_raw").frame
    return [str(t) for t in frame["content"].tolist()]


def test_shipped_triggers_match_the_installed_opencc(entries: list[tuple[str, str]]) -> None:
    assert len(entries) > 5000  # TSPhrases + TSCharacters (+Ext) + CJK compatibility
    assert triggers_file().read_text(encoding="utf-8").strip() == build_triggers(entries)


def _simplified_looking(key: str, chars: set[str]) -> bool:
    """A phrase rule that rewrites plain simplified text (打坏 → 打坯): deliberately not a trigger."""
    try:
        key.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return not chars.intersection(key)


def test_every_changing_rule_has_a_trigger(entries: list[tuple[str, str]]) -> None:
    triggers = set(triggers_file().read_text(encoding="utf-8").strip())
    untriggered = [k for k, v in entries if v != k and not triggers.intersection(k)]
    singles = {k for k, v in entries if len(k) == 1 and v != k}
    assert all(_simplified_looking(k, singles) for k in untriggered)
    assert "打坏" in untriggered and len(untriggered) < 150  # the documented exceptions, no more


def test_gated_conversion_equals_opencc(real_texts: list[str], entries: list[tuple[str, str]]) -> None:
    converter = _get_converter()
    singles = {k for k, v in entries if len(k) == 1 and v != k}
    skipped = [k for k, v in entries if v != k and _simplified_looking(k, singles)]
    samples = real_texts + ["我們的車輛在這裡停了三個月", "臺灣同胞來電諮詢醫療保險", "瞭解情況後回覆", "甦醒"]
    for text in samples:
        expected = str(converter.convert(text))
        got = to_simplified(text)
        if got != expected:  # only where OpenCC rewrote an already-simplified phrase
            assert not has_traditional(text)
            assert any(k in text for k in skipped), text[:80]
    assert to_simplified("我們的車輛") == "我们的车辆"
    assert to_simplified("瞭解情況") == "了解情况"
    assert to_simplified("东西打坏了") == "东西打坏了"  # OpenCC itself would write 打坯


def test_fast_nfkc_equals_unicodedata(real_texts: list[str]) -> None:
    rng = random.Random(7)
    pool = "，：；？！（）％＋－／＜＞＝［］｛｝～．\u3000\xa0…１２ＡＢａ①②㎡ｶﾞ\ufb01\u2028é𠀀字a1 ,."
    randoms = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    for text in real_texts + randoms:
        assert nfkc(text) == unicodedata.normalize("NFKC", text)


def test_whitespace_collapse_equals_the_regex(real_texts: list[str]) -> None:
    import re

    for text in real_texts[:300] + ["a\u3000\u3000b\n\tc\xa0 ", "\u2028x\u2029", "  "]:
        assert normalize_text(text) == re.sub(r"\s+", " ", normalize_text(text)).strip()
