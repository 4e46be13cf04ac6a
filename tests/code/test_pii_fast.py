"""The fast paths of the masker and the normaliser against their plain definitions, on real and random texts.

- the scanning regexes that were rewritten to start with one character class (so ``re`` skips ahead)
  match exactly where their plain forms match;
- ``open_gates`` (one scan for all gates) opens exactly the gates whose definitions (``GATES``) hold;
- the cues and the details before a name, found in one Aho-Corasick pass, are those of ``NAME_GATE``
  and of the three details regexes;
- ``normalize_text`` (one scan for the characters that give its steps work) equals the steps run one
  after the other, and ``preprocess`` equals ``mask_pii(normalize_text(...))``.
"""

from __future__ import annotations

import random
import re
import sys
import unicodedata
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data" / "pii_corpus"))
import corpus  # noqa: E402

from minyi_nlp.text import normalize as nz  # noqa: E402
from minyi_nlp.text import pii, pii_names  # noqa: E402

# ------------------------------------------------------------------ the plain forms
_NA = r"(?![0-9]|\.[0-9]|\s*[元万亿块])"
_CC86 = r"(?:(?:\+|00)\s?86|\(\+?86\)|86)[ -]?"
_MOBILE = r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}"
_LANDLINE = r"(?:\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2})\s*(?:[-‐‑–—―~]{1,2}\s*)?[2-9][0-9]{2,3}[ -]?[0-9]{4}"
_CN_NUM = r"[0-9]{1,4}|[一二三四五六七八九十]{1,3}"
_UNIT = rf"(?:{_CN_NUM})单元"
_ROOM = r"[0-9]{3,4}(?:室|号|房|户)?"
PLAIN = {
    "_MOBILE_RE": re.compile(rf"(?<![0-9A-Za-z])(?:{_CC86})?{_MOBILE}{_NA}"),
    "_LANDLINE_RE": re.compile(rf"(?<![0-9]){_LANDLINE}{_NA}"),
    "_CC86_LANDLINE_RE": re.compile(
        rf"(?<![0-9]){_CC86}\(?0?[1-9][0-9]{{1,2}}\)?[ -]?[2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}(?![0-9])"),
    "_INTL_RE": re.compile(r"(?:\+|(?<![0-9])00)[1-9][0-9]{0,2}(?:[ -]?\(?[0-9]{1,5}\)?){2,5}(?![0-9])"),
    "_LOCAL_RE": re.compile(
        r"(?:电话|手机|座机|热线|联系方式|致电|拨打|(?<![a-z])tel|(?<![a-z])phone)(?:号码|号)?[^0-9\n]{0,6}?"
        rf"(?<![0-9])([2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}){_NA}", re.IGNORECASE),
    "_ID18_RE": re.compile(r"(?<![0-9A-Za-z])[1-8](?:[ \-]?[0-9]){16}[ \-]?[0-9Xx](?![0-9])"),
    "_CARD_RE": re.compile(
        r"(?<![0-9.])(?:[1-9][0-9]{15,18}|[1-9][0-9]{3}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)(?![0-9]|\.[0-9])"),
    "_ADDRESS_RE": re.compile(
        rf"(?<![0-9A-Za-z])(?:(?:{_CN_NUM}|[A-Za-z])(?:栋|幢|号楼|座|号院)\s*-?\s*(?:{_UNIT}\s*-?\s*)?"
        rf"(?:[0-9]{{1,2}}(?:楼|层)\s*)?{_ROOM}|{_UNIT}\s*-?\s*(?:[0-9]{{1,2}}(?:楼|层)\s*)?{_ROOM}"
        rf"|[0-9]{{1,3}}-[0-9]{{1,2}}-[0-9]{{3,4}}(?:室|号|房)?|[0-9]{{3,4}}(?:室|房间))(?![0-9])"),
}

# Random texts built from the pieces the patterns care about.
_PIECES = (
    list("0123456789") * 4
    + [" ", " ", "-", "+", "(", ")", ".", "\n", "—", "~", "tel", "TEL", "Tel", "phone", "PHONE", "aTel", "İtel",
       "ſtel", "\u212atel", ":", "@", "#", "86", "+86", "0086", "(+86)", "00", "13", "138", "0731", "(0731)", "weixin",
       "WeChat", "vx"]
    + list("xXatBVvWeinchQqz")
    + ["元", "万", "块", "电话", "手机", "座机", "热线", "联系方式", "致电", "拨打", "号码", "号",
       "：", "室", "房间", "房", "户", "栋", "幢", "号楼", "座", "号院", "单元", "单",
       "元", "楼", "层", "一", "十", "三", "艾特", "圈", "微信", "威信", "信", "扣扣",
       "企鹅", "京", "湘", "楚", "的", "是"]
)


def _random_texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)

    def piece() -> str:
        if rng.random() < 0.3:
            return rng.choice("123456789") + "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 19)))
        return rng.choice(_PIECES)

    return ["".join(piece() for _ in range(rng.randint(1, 20))) for _ in range(n)]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    from minyi_nlp.data import load_source

    real = [str(t) for t in load_source("teddy_fj2_raw").frame["content"].tolist()[:3000]]
    return real + [c.text for c in corpus.synthetic()] + [c.text for c in corpus.real()]


@pytest.fixture(scope="module")
def folded(texts: list[str]) -> list[str]:
    return [pii._fold(nz.normalize_text(t)) for t in texts]


def _matches(rx: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(m.span(), m.groups()) for m in rx.finditer(text)]


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_rewritten_patterns_match_like_their_plain_forms(name: str, folded: list[str]) -> None:
    fast = getattr(pii, name)
    for text in folded + _random_texts(1, 20000):
        assert _matches(fast, text) == _matches(PLAIN[name], text), (name, text)


def test_one_scan_opens_the_gates_their_definitions_open(folded: list[str]) -> None:
    opened = 0
    for text in folded + _random_texts(2, 20000):
        expected = frozenset(name for name, gate in pii.GATES.items() if gate(text))
        assert pii.open_gates(text) == expected, text
        opened += bool(expected)
    assert opened > 5000


_CUE_PIECES = list(pii_names._CUE_KINDS) + list(pii_names._DETAIL_WORDS) + [
    "女儿", "女士", "今年5", "12岁", "1234岁", " ", "\t", "\u3000", ",", "，", "、", "(", "+", "0", "7", "年", "我",
    "王", "张", "联系", "联", "电", "话"]


def test_cues_and_details_in_one_pass(folded: list[str]) -> None:
    rng = random.Random(3)
    randoms = ["".join(rng.choice(_CUE_PIECES) for _ in range(rng.randint(1, 20))) for _ in range(20000)]
    colon = re.compile(r"[:：]\s*[0-9+(]")
    phone = re.compile(r"(?:电话|手机|联系电话|联系方式)\)?[:：]?\s*[0-9+(]")
    person = re.compile(r"[,，、]\s*(?:男|女|现年|今年[0-9]|[0-9]{1,3}岁)")
    for text in folded + randoms:
        cues, colons, phones, persons = pii_names._scan(text)
        assert cues == [(pii_names._CUE_KINDS[m.group()], *m.span()) for m in pii_names.NAME_GATE.finditer(text)]
        assert colons == [m.start() for m in colon.finditer(text)], text
        assert phones == [m.start() for m in phone.finditer(text)], text
        assert persons == [m.start() for m in person.finditer(text)], text


def test_cues_overlap_no_detail_word_but_at_their_start() -> None:
    # what lets one leftmost-longest pass find both (``_scan`` reads a detail word at a cue's start)
    details = set(pii_names._DETAIL_WORDS)
    words = list(pii_names._CUE_KINDS) + list(details)
    for a in words:
        for b in words:
            if a not in details and b not in details:
                continue  # overlapping cues are resolved as by NAME_GATE (leftmost-longest)
            for k in range(1, len(a)):  # b starts inside a, or a's end starts b
                if b.startswith(a[k:]) or a[k:].startswith(b):
                    assert (a, b) == ("联系电话", "电话"), (a, b)  # 联系电话 hides 电话 in the regex too
    starts = {c for c in pii_names._CUE_KINDS for w in pii_names._DETAIL_WORDS if c != w and c.startswith(w)}
    assert starts == {"女儿", "女士"}


def test_title_cue_precheck_skips_only_where_no_name_ends(folded: list[str]) -> None:
    singles = (pii_names._TITLE_SURNAME_SET, pii_names._TRADE_SURNAME_SET, pii_names._EMPTY)
    skipped = 0
    for text in folded:
        for kind, start, _ in pii_names.cues(text):
            if kind in ("polite", "trade", "comrade"):
                for single in singles:
                    if not pii_names._may_end_name(text, start, single):
                        skipped += 1
                        assert pii_names._before_title(text, start, single) is None
    assert skipped > 1000


def test_cue_prechecks_skip_only_where_no_name_follows(folded: list[str]) -> None:
    rng = random.Random(6)
    randoms = ["".join(rng.choice(_CUE_PIECES) for _ in range(rng.randint(1, 12))) for _ in range(20000)]
    skipped = 0
    for text in folded + randoms:
        for _, _, end in pii_names.cues(text):
            after = text[end : end + 1]
            if not after.isspace():
                if after not in pii_names._STRONG_NEXT:
                    skipped += 1
                    assert pii_names._AFTER_STRONG_RE.match(text, end) is None, text
                if after not in pii_names._WEAK_NEXT:
                    assert pii_names._AFTER_WEAK_RE.match(text, end) is None, text
    assert skipped > 1000


def _normalize_step_by_step(text: str) -> str:
    text = nz._coerce(text)
    text = nz._JUNK_RE.sub(" ", text)
    text = nz._XL_ESCAPE_RE.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = nz._strip_html(text)
    text = nz.to_simplified(text)
    return re.sub(r"\s+", " ", text).strip()


def test_normalize_equals_its_steps_one_after_another(texts: list[str]) -> None:
    rng = random.Random(4)
    pool = ("，：；？！（）％＋－／＜＞＝［］｛｝～．\u3000\xa0…１２ＡＢａ①②㎡ｶﾞ\ufb01\u2028\u200b\x07é𠀀字a1 ,.<>&;#"
            "_x000D_我們車輛這裡瞭解甦醒\ufa0c\U0002f800<br>&amp;&#x8eca;&#65281;")
    randoms = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(20000)]
    for text in texts + randoms:
        got, converted = nz.normalize_and_tell(text)
        assert got == _normalize_step_by_step(text), text
        if not converted:  # only OpenCC's output may hold full-width ASCII
            assert pii._FULL_WIDTH.search(got) is None, text


def test_preprocess_is_normalise_then_mask(texts: list[str]) -> None:
    for text in texts + _random_texts(5, 5000):
        assert pii.preprocess(text) == pii.mask_pii(nz.normalize_text(text))
