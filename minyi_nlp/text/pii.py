"""Find and mask personal data (PII) in appeal texts: the one masker of every path.

Recognisers run in priority order — e-mail, WeChat ID, ID number, bank card, phone, QQ, licence
plate, dwelling address, name — and a later one never takes characters an earlier one already
claimed. As in presidio's recogniser framework, each is a pattern plus a validator and/or a context
cue: IDs pass the GB 11643 checksum and birth date (or follow 身份证), bank cards pass Luhn (or follow
卡号), phones follow the Chinese number plan, and international ones are checked with Google's
``phonenumbers``; QQ and WeChat IDs need their cue; names need a cue word or a title (see
:mod:`minyi_nlp.text.pii_names`). So dates, amounts, 3号线, house numbers of streets, anonymised
place codes (A3区) and user ids (A000012345) are left alone.

Each recogniser also has a gate, a cheap necessary condition (five digits in a row, an ASCII letter,
a cue word…): most appeals pass none, so most recognisers never scan them. One scan tests all the
gates (:func:`open_gates`), and the patterns that scan a whole text start with one character class, so
that ``re`` skips ahead to the candidates.

Offsets refer to the text as given. Detection also works on raw text with full-width digits,
but the intended entry point is ``preprocess`` = ``mask_pii(normalize_text(text))``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from minyi_nlp.text.normalize import normalize_and_tell
from minyi_nlp.text.pii_names import find_names, list_neighbours, repeats
from minyi_nlp.text.pii_rules import is_phone_number, is_valid_id18, luhn_ok, valid_birth

__all__ = [
    "PII_KINDS",
    "PLACEHOLDERS",
    "PiiMatch",
    "find_pii",
    "is_valid_id18",
    "luhn_ok",
    "mask_pii",
    "placeholder",
    "preprocess",
]

PII_KINDS: tuple[str, ...] = ("EMAIL", "WECHAT", "ID", "BANKCARD", "PHONE", "QQ", "PLATE", "ADDRESS", "NAME")
PLACEHOLDERS: frozenset[str] = frozenset(f"<{k}>" for k in PII_KINDS)


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One detected item: ``kind`` in ``PII_KINDS``, ``text[start:end] == value``."""

    kind: str
    start: int
    end: int
    value: str


def placeholder(kind: str) -> str:
    """The token that replaces a match of ``kind`` (``"PHONE"`` → ``"<PHONE>"``)."""
    return f"<{kind}>"


# Length-preserving fold of full-width ASCII and the ideographic space, so offsets stay valid.
_FOLD = {0xFF01 + i: 0x21 + i for i in range(94)} | {0x3000: 0x20}
_FULL_WIDTH = re.compile(r"[\uff01-\uff5e\u3000]")

_NOT_AMOUNT = r"(?![0-9]|\.[0-9]|\s*[元万亿块])"  # a number followed by these is money, not PII
_DASH = r"[-‐‑–—―~]"
_SEP = r"[ \-]"  # what people put between digit groups
# Each pattern that scans a whole text starts with one character or class (a look-behind, if any,
# comes right after it and looks back over that character too), so that ``re`` skips ahead to the
# candidates with a bitmap test instead of trying the pattern at every position. tests/code/
# test_pii_fast.py checks them against their plain forms (look-behind first).

Spans = Iterable[tuple[int, int]]
Gate = Callable[[str], bool]

# ---------------------------------------------------------------- gates: cheap necessary conditions
# Each gate regex starts with a character class, so ``re`` skips ahead with a bitmap test instead of
# trying the whole pattern at every position.
_DIGITS_GATE = re.compile(r"[0-9](?:[0-9]{4}|[0-9]{2}[ \-.)][0-9]{3})")  # every phone, ID, card, QQ has one
_AT_GATE = re.compile(r"[Aa][Tt](?![A-Za-z])")
_WECHAT_GATE = re.compile(r"[微威Vv]信")
_WECHAT_LATIN_GATE = re.compile(r"[VvWw](?:[Xx]|[Ee](?:[Ii][Xx][Ii][Nn]|[Cc][Hh][Aa][Tt]))")
_QQ_GATE = re.compile(r"[Qq][Qq]")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼楚"
_PLATE_GATE = re.compile(rf"[{_PROVINCES}][A-Za-z]")
_ADDRESS_GATE = re.compile(
    r"[0-9一二三四五六七八九十A-Za-z](?:栋|幢|号楼|座|号院|单元|[0-9]{2}(?:室|房间)|-[0-9]{1,2}-[0-9]{3})"
)


def _has_digits(text: str) -> bool:
    return _DIGITS_GATE.search(text) is not None


def _has_email_sign(text: str) -> bool:
    return ("@" in text or "#" in text or "艾特" in text or "圈" in text
            or _AT_GATE.search(text) is not None)


def _has_wechat_cue(text: str) -> bool:
    return ("信" in text and _WECHAT_GATE.search(text) is not None) or _WECHAT_LATIN_GATE.search(text) is not None


def _has_qq_cue(text: str) -> bool:
    return ("扣扣" in text or "企鹅" in text or _QQ_GATE.search(text) is not None) and _has_digits(text)


def _has_plate_start(text: str) -> bool:
    return _PLATE_GATE.search(text) is not None


def _has_dwelling(text: str) -> bool:
    return _ADDRESS_GATE.search(text) is not None


# The gates are opened by one scan: each is a set of branches, each of which reads one character and
# looks around it (the plate gate from its letter, the dwelling gate from the character after the
# building number), so that a branch matches at a position exactly when its gate's pattern is found
# there or just before. The scan looks for the first position where any gate opens, then goes on from
# there without that gate. A class of the branches' first characters up front lets ``re`` skip
# ahead, and the branches are grouped by that character. Most texts open none, at the cost of one scan.
_X = "0-9一二三四五六七八九十A-Za-z"  # what a building number starts with
_GATE_BRANCHES: tuple[tuple[str, str, str], ...] = (  # (first character, rest of the branch, gate)
    ("0-9", r"(?=[0-9]{4}|[0-9]{2}[ \-.)][0-9]{3})", "digits"),
    ("0-9", rf"(?=[0-9](?:室|房间))(?<=[{_X}][0-9])", "dwelling"),
    ("A-Za-z", r"(?<=[Aa])(?=[Tt](?![A-Za-z]))", "email"),
    ("A-Za-z", r"(?<=[Vv])(?=信)", "wechat"),
    ("A-Za-z", r"(?<=[VvWw])(?=[Xx]|[Ee](?:[Ii][Xx][Ii][Nn]|[Cc][Hh][Aa][Tt]))", "wechat"),
    ("A-Za-z", r"(?<=[Qq])(?=[Qq])", "qq_cue"),
    ("A-Za-z", rf"(?<=[{_PROVINCES}][A-Za-z])", "plate"),
    ("@#圈", "", "email"),
    ("艾", "(?=特)", "email"),
    ("微威", "(?=信)", "wechat"),
    ("扣", "(?=扣)", "qq_cue"),
    ("企", "(?=鹅)", "qq_cue"),
    ("栋幢座", rf"(?<=[{_X}].)", "dwelling"),
    ("号", rf"(?<=[{_X}]号)(?=[楼院])", "dwelling"),
    ("单", rf"(?<=[{_X}]单)(?=元)", "dwelling"),
    ("\\-", rf"(?<=[{_X}]-)(?=[0-9]{{1,2}}-[0-9]{{3}})", "dwelling"),
)
_GATE_NAMES = frozenset(("email", "wechat", "digits", "qq_cue", "plate", "dwelling"))
#: The gates' definitions, which the scan follows (``qq`` opens on a QQ cue when ``digits`` opens too).
GATES: dict[str, Gate] = {"email": _has_email_sign, "wechat": _has_wechat_cue, "digits": _has_digits,
                          "qq": _has_qq_cue, "plate": _has_plate_start, "dwelling": _has_dwelling}


_GATE_SCANS: dict[frozenset[str], tuple[re.Pattern[str], tuple[str, ...]]] = {}  # filled on first use


def _gate_scan(names: frozenset[str]) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """The scan for the gates ``names``, and the gate of each of its groups."""
    scan = _GATE_SCANS.get(names)
    if scan is not None:
        return scan
    groups: dict[str, list[tuple[str, str]]] = {}
    for first, rest, gate in _GATE_BRANCHES:
        if gate in names:
            groups.setdefault(first, []).append((rest, gate))
    owners: list[str] = []

    def alternative(first: str) -> str:
        owners.extend(gate for _, gate in groups[first])
        return f"(?<=[{first}])(?:" + "|".join(f"{rest}()" for rest, _ in groups[first]) + ")"

    # Digits and letters, the most frequent candidates, first; the rare characters under one look-back,
    # so that a candidate that opens nothing fails after few tests.
    common = [first for first in groups if first in ("0-9", "A-Za-z")]
    rare = [first for first in groups if first not in common]
    alternatives = [alternative(first) for first in common]
    if rare:
        alternatives.append(f"(?<=[{''.join(rare)}])(?:" + "|".join(alternative(first) for first in rare) + ")")
    pattern = "[" + "".join(groups) + "](?:" + "|".join(alternatives) + ")"
    scan = _GATE_SCANS[names] = re.compile(pattern), tuple(owners)
    return scan


_NONE_OPEN: frozenset[str] = frozenset()


def open_gates(text: str) -> frozenset[str]:
    """The names of the gates (keys of ``GATES``) that ``text`` passes."""
    remaining = _GATE_NAMES
    pos = 0
    while remaining:
        scan, owners = _gate_scan(remaining)
        m = scan.search(text, pos)
        if m is None:
            break
        remaining = remaining - {owners[m.lastindex - 1]}  # type: ignore[operator]
        pos = m.start()  # another gate may open at the same character
    if len(remaining) == len(_GATE_NAMES):
        return _NONE_OPEN
    found = set(_GATE_NAMES) - remaining
    if "qq_cue" in found:
        found.discard("qq_cue")
        if "digits" in found:
            found.add("qq")
    return frozenset(found)


# ---------------------------------------------------------------- e-mail (plain and spelled out)
_LOCAL = r"[A-Za-z0-9._%+-]+"
_EMAIL_RE = re.compile(
    rf"(?<![A-Za-z0-9._%+-]){_LOCAL}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,}}(?![A-Za-z0-9])"
)
# "zhang.wei1949 at example.com", "zw(at)qq(dot)com", "zw#163.com", "zw 艾特 163 点 com"
_AT = r"(?:\s*(?:@|\(at\)|\[at\]|\{at\}|<at>|（at）|#|艾特|圈a)\s*|\s+at\s+)"
_DOT = r"(?:\s*(?:\.|\(dot\)|\[dot\]|\{dot\}|点)\s*|\s+dot\s+)"
_TLD = r"(?:com|cn|net|org|edu|gov|info|biz|io|me|cc|co|hk|tw|mo|uk|us|de|jp)"
_SPELLED_EMAIL_RE = re.compile(
    rf"(?<![A-Za-z0-9._%+-]){_LOCAL}{_AT}[A-Za-z0-9-]+(?:{_DOT}[A-Za-z0-9-]+)*{_DOT}{_TLD}(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def _find_emails(text: str) -> Spans:
    if "@" in text:
        yield from (m.span() for m in _EMAIL_RE.finditer(text))
    yield from (m.span() for m in _SPELLED_EMAIL_RE.finditer(text))


# ---------------------------------------------------------------- WeChat IDs
_WECHAT_CUE = r"(?:微信|威信|weixin|wechat|vx|v信|wx)(?:号码|号|账号|id)?"
_WECHAT_RE = re.compile(
    rf"{_WECHAT_CUE}\s*(?:[:：]|是|为)?\s*([A-Za-z][-_A-Za-z0-9]{{5,19}})(?![-_A-Za-z0-9@])", re.IGNORECASE
)
_WXID_RE = re.compile(r"(?<![A-Za-z0-9_])wxid_[a-z0-9]{6,24}(?![A-Za-z0-9_])", re.IGNORECASE)


def _find_wechat(text: str) -> Spans:
    for m in _WECHAT_RE.finditer(text):
        yield m.span(1)
    for m in _WXID_RE.finditer(text):
        yield m.span()


# ---------------------------------------------------------------- ID numbers (GB 11643-1999)
# 18 characters, optionally grouped ("110105 19491231 002X", "110105-1949-1231-002X").
_ID18_RE = re.compile(r"[1-8](?<![0-9A-Za-z][1-8])(?:[ \-]?[0-9]){16}[ \-]?[0-9Xx](?![0-9])")
_ID_CUE = r"(?:身份证|证件|公民身份|身份号)(?:号码|号)?[^0-9\n]{0,4}?"
_ID15_RE = re.compile(_ID_CUE + r"(?<![0-9])([1-8][0-9]{14})(?![0-9Xx*])")
# After a cue, any ID-shaped value is personal, even a mistyped one or one partly starred.
_ID_CUED_RE = re.compile(_ID_CUE + r"(?<![0-9])([0-9](?:[ \-]?[0-9*]){13,16}[ \-]?[0-9Xx*])(?![0-9Xx*])")
_PASSPORT_RE = re.compile(r"(?:护照|通行证)(?:号码|号)?[^0-9A-Za-z\n]{0,4}?([A-Za-z]{1,2}[0-9]{7,8})(?![0-9])")


def _compact(value: str) -> str:
    return value.replace(" ", "").replace("-", "")


def _find_ids(text: str) -> Spans:
    for m in _ID18_RE.finditer(text):
        value = m.group()
        if (value.count(" ") + value.count("-")) <= 4 and is_valid_id18(_compact(value)):
            yield m.span()
    if "身份" in text or "证件" in text:  # the cues of the next two (a ``str`` scan is cheaper)
        for m in _ID15_RE.finditer(text):
            if valid_birth("19" + m.group(1)[6:12]):
                yield m.span(1)
        for m in _ID_CUED_RE.finditer(text):
            if len(_compact(m.group(1))) in (15, 18):
                yield m.span(1)
    if "护照" in text or "通行证" in text:
        for m in _PASSPORT_RE.finditer(text):
            yield m.span(1)


# ---------------------------------------------------------------- bank cards (Luhn, or a cue)
_CARD_RE = re.compile(
    r"[1-9](?<![0-9.][1-9])(?:[0-9]{15,18}|[0-9]{3}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)(?![0-9]|\.[0-9])"
)
_CARD_CUED_RE = re.compile(
    r"(?:银行卡|储蓄卡|信用卡|借记卡|卡号|银行账号|银行帐号|账号|帐号)[^0-9\n]{0,4}?"
    r"(?<![0-9])([1-9](?:[ -]?[0-9]){11,18})(?![0-9])"
)


def _find_cards(text: str) -> Spans:
    for m in _CARD_RE.finditer(text):
        digits = _compact(m.group())
        if 16 <= len(digits) <= 19 and luhn_ok(digits):
            yield m.span()
    if "卡" in text or "账号" in text or "帐号" in text:  # its cues
        for m in _CARD_CUED_RE.finditer(text):
            yield m.span(1)


# ---------------------------------------------------------------- phones
_MOBILE = r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}"
_CC86 = r"(?:(?:\+|00)\s?86|\(\+?86\)|86)[ -]?"
_LANDLINE = (
    rf"(?:\(0[1-9][0-9]{{1,2}}\)|0[1-9][0-9]{{1,2}})\s*(?:{_DASH}{{1,2}}\s*)?[2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}"
)
_MOBILE_RE = re.compile(
    rf"(?:\+(?<![0-9A-Za-z]\+)\s?86[ -]?{_MOBILE}|0(?<![0-9A-Za-z]0)0\s?86[ -]?{_MOBILE}"
    rf"|\((?<![0-9A-Za-z]\()\+?86\)[ -]?{_MOBILE}|8(?<![0-9A-Za-z]8)6[ -]?{_MOBILE}"
    rf"|1(?<![0-9A-Za-z]1)[3-9][0-9](?:[ -]?[0-9]{{4}}){{2}}){_NOT_AMOUNT}"
)
_LANDLINE_RE = re.compile(
    rf"(?:\((?<![0-9]\()0[1-9][0-9]{{1,2}}\)|0(?<![0-9]0)[1-9][0-9]{{1,2}})"
    rf"\s*(?:{_DASH}{{1,2}}\s*)?[2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}{_NOT_AMOUNT}"
)
# +86 landlines drop the trunk 0: "+86 10 6552 9988", "+86-731-8888-8888".
_CC86_LANDLINE_RE = re.compile(
    r"(?:\+(?<![0-9]\+)\s?86|0(?<![0-9]0)0\s?86|\((?<![0-9]\()\+?86\)|8(?<![0-9]8)6)[ -]?"
    r"\(?0?[1-9][0-9]{1,2}\)?[ -]?[2-9][0-9]{2,3}[ -]?[0-9]{4}(?![0-9])"
)
# Any other +country number: checked against the number plans of ``phonenumbers``.
_INTL_RE = re.compile(r"(?:\+|0(?<![0-9]0)0)[1-9][0-9]{0,2}(?:[ -]?\(?[0-9]{1,5}\)?){2,5}(?![0-9])")
# A bare 7–8 digit local number only right after a phone cue ("电话：8231756"); tel/phone in any case.
_LOCAL_RE = re.compile(
    r"[电手座热联致拨TtPp](?:(?<=电)话|(?<=手)机|(?<=座)机|(?<=热)线|(?<=联)系方式|(?<=致)电|(?<=拨)打"
    r"|(?<=[Tt])(?i:(?<![a-z]t)el)|(?<=[Pp])(?i:(?<![a-z]p)hone))(?:号码|号)?[^0-9\n]{0,6}?"
    rf"(?<![0-9])([2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}){_NOT_AMOUNT}"
)
# Another number listed right after a phone ("0746-8353066、8367386").
_NEXT_PHONE_RE = re.compile(
    rf"\s*(?:[、/,;]|或者?|和|及)\s*({_LANDLINE}|{_MOBILE}|[2-9][0-9]{{6,7}}){_NOT_AMOUNT}"
)


# A number right after these is a case or order number, not a phone ("诉求编号:FZ16082600608").
_REFERENCE_CUE_RE = re.compile(r"(?:编号|单号|订单|工单|流水号|案号|诉求件|件号|批号|证号)[^0-9\n]{0,5}$")


_PHONE_CUE_RE = re.compile(r"(?:电话|手机|座机|热线|联系方式|致电|拨打|[Tt][Ee][Ll]|[Pp]hone)[^0-9\n]{0,6}$")


def _plausible_landline(text: str, start: int, end: int) -> bool:
    """A landline written without a separator must follow a phone cue or have a possible length
    in the Chinese number plan."""
    value = text[start:end]
    return (not value.isdigit() or _PHONE_CUE_RE.search(text, max(0, start - 10), start) is not None
            or is_phone_number(value, strict=False))


def _find_phones(text: str) -> Spans:
    spans = [m.span() for m in _MOBILE_RE.finditer(text)]
    spans += [m.span() for m in _LANDLINE_RE.finditer(text) if _plausible_landline(text, *m.span())]
    if "86" in text:
        spans += [m.span() for m in _CC86_LANDLINE_RE.finditer(text)]
    if "+" in text or "00" in text:
        spans += [m.span() for m in _INTL_RE.finditer(text) if is_phone_number(m.group())]
    spans += [m.span(1) for m in _LOCAL_RE.finditer(text)]
    for start, end in spans:
        if _REFERENCE_CUE_RE.search(text, max(0, start - 12), start):
            continue
        yield start, end
        while m := _NEXT_PHONE_RE.match(text, end):
            end = m.end(1)
            yield m.start(1), end


# ---------------------------------------------------------------- QQ
_QQ_RE = re.compile(r"(?:qq|扣扣|企鹅)(?:号码|号|群)?\s*(?:[:：]|是|为)?\s*([1-9][0-9]{4,11})(?![0-9])", re.IGNORECASE)


def _find_qq(text: str) -> Spans:
    for m in _QQ_RE.finditer(text):
        yield m.span(1)


# ---------------------------------------------------------------- licence plates
# _PROVINCES: the 31 province abbreviations, plus 楚, which the Teddy Cup data uses for its anonymised
# province.
_PL = "A-HJ-NP-Za-hj-np-z"  # plate letters: no I, no O
_PLATE_RE = re.compile(
    rf"[{_PROVINCES}][{_PL}][·•・･. -]?"
    rf"(?:[DFdf][{_PL}0-9][0-9]{{4}}|[0-9]{{5}}[DFdf]|[{_PL}0-9]{{4}}[{_PL}0-9挂学警港澳领试超])"
)


def _find_plates(text: str) -> Spans:
    for m in _PLATE_RE.finditer(text):
        if sum(ch.isdigit() for ch in m.group()) >= 2:  # real plates carry digits; words do not
            yield m.span()


# ---------------------------------------------------------------- dwelling addresses
# The dwelling part of an address: building + unit + room ("3栋2单元501室", "5号楼302", "B座1203",
# "3-2-501"). The estate or street before it (幸福小区, 人民路88号) stays: it is a place, and the
# router needs it.
_CN_DIGITS = "一二三四五六七八九十"
_CN_NUM = rf"[0-9]{{1,4}}|[{_CN_DIGITS}]{{1,3}}"
_UNIT = rf"(?:{_CN_NUM})单元"
_ROOM = r"[0-9]{3,4}(?:室|号|房|户)?"
# Building (3栋, 十二幢, B座) and unit at the start of a match, their first character already read.
_BUILDING_REST = (rf"(?:(?<=[0-9])[0-9]{{0,3}}|(?<=[{_CN_DIGITS}])[{_CN_DIGITS}]{{0,2}}|(?<=[A-Za-z]))"
                  r"(?:栋|幢|号楼|座|号院)")
_UNIT_REST = rf"(?:(?<=[0-9])[0-9]{{0,3}}|(?<=[{_CN_DIGITS}])[{_CN_DIGITS}]{{0,2}})单元"
_ADDRESS_RE = re.compile(
    rf"[0-9{_CN_DIGITS}A-Za-z](?<![0-9A-Za-z].)"
    rf"(?:{_BUILDING_REST}\s*-?\s*(?:{_UNIT}\s*-?\s*)?(?:[0-9]{{1,2}}(?:楼|层)\s*)?{_ROOM}"
    rf"|{_UNIT_REST}\s*-?\s*(?:[0-9]{{1,2}}(?:楼|层)\s*)?{_ROOM}"
    rf"|(?<=[0-9])[0-9]{{0,2}}-[0-9]{{1,2}}-[0-9]{{3,4}}(?:室|号|房)?"
    rf"|(?<=[0-9])[0-9]{{2,3}}(?:室|房间))(?![0-9])"
)


def _find_addresses(text: str) -> Spans:
    for m in _ADDRESS_RE.finditer(text):
        yield m.span()


# ---------------------------------------------------------------- the recognisers
@dataclass(frozen=True, slots=True)
class Recognizer:
    """One kind of PII: ``find`` gives spans; it runs only when the gate named ``gate`` (a key of
    ``GATES``, or None: always) is open."""

    kind: str
    find: Callable[[str], Spans]
    gate: str | None


RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer("EMAIL", _find_emails, "email"),
    Recognizer("WECHAT", _find_wechat, "wechat"),
    Recognizer("ID", _find_ids, "digits"),
    Recognizer("BANKCARD", _find_cards, "digits"),
    Recognizer("PHONE", _find_phones, "digits"),
    Recognizer("QQ", _find_qq, "qq"),
    Recognizer("PLATE", _find_plates, "plate"),
    Recognizer("ADDRESS", _find_addresses, "dwelling"),
    Recognizer("NAME", find_names, None),  # find_names scans for its cues itself
)


def _fold(text: str) -> str:
    return text.translate(_FOLD) if _FULL_WIDTH.search(text) else text


_ALWAYS_RUN = tuple(rec for rec in RECOGNIZERS if rec.gate is None)
_ALL_GATES = frozenset(GATES)


def find_pii(text: str, *, gated: bool = True) -> list[PiiMatch]:
    """All PII items in ``text``, sorted by position, non-overlapping (earlier recognisers win).

    ``gated=False`` runs every recogniser on every text (for tests of the gates)."""
    return _find(text, _fold(text), gated=gated) if text else []


def _find(text: str, folded: str, *, gated: bool = True) -> list[PiiMatch]:
    """``find_pii`` with ``folded`` = ``_fold(text)`` given."""
    gates = open_gates(folded) if gated else _ALL_GATES
    taken: list[tuple[int, int]] = []
    found: list[PiiMatch] = []
    for rec in RECOGNIZERS if gates else _ALWAYS_RUN:
        if rec.gate is not None and rec.gate not in gates:
            continue
        kind = rec.kind
        for start, end in rec.find(folded):
            if start >= end:
                continue
            for s, e in taken:
                if start < e and s < end:
                    break
            else:
                taken.append((start, end))
                found.append(PiiMatch(kind, start, end, text[start:end]))
    if not found:
        return found
    names = [m for m in found if m.kind == "NAME" and len(m.value) > 1]
    if names:
        _more_names(folded, text, names, taken, found)
    found.sort(key=lambda m: m.start)
    return found


def _more_names(folded: str, text: str, names: list[PiiMatch], taken: list[tuple[int, int]],
                found: list[PiiMatch]) -> None:
    """Names listed next to a found one (A、B、C), then every repeat of any found name."""

    def add(start: int, end: int) -> bool:
        if any(start < e and s < end for s, e in taken):
            return False
        taken.append((start, end))
        found.append(PiiMatch("NAME", start, end, text[start:end]))
        return True

    values = dict.fromkeys(m.value for m in sorted(names, key=lambda m: m.start))  # ordered: same result each run
    for m in names:
        for start, end in list_neighbours(folded, m.start, m.end):
            if add(start, end):
                values[text[start:end]] = None
    for value in sorted(values, key=len, reverse=True):  # longer names first: 张伟明 before 张伟
        for start, end in repeats(folded, value, taken):
            add(start, end)


def mask_pii(text: str) -> str:
    """Replace every PII item with its placeholder (``<PHONE>``, ``<ID>``, ``<NAME>`` …)."""
    return _mask(text, find_pii(text))


def _mask(text: str, matches: list[PiiMatch]) -> str:
    if not matches:
        return text
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos : m.start])
        parts.append(placeholder(m.kind))
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts)


def preprocess(text: str) -> str:
    """The single text entry point: ``mask_pii(normalize_text(text))``."""
    text, may_be_wide = normalize_and_tell(text)
    if not text:
        return text
    return _mask(text, _find(text, _fold(text) if may_be_wide else text))
