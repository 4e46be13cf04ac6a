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
a cue word…): most appeals pass only some gates, so most recognisers never scan them.

Offsets refer to the text as given. Detection also works on raw text with full-width digits,
but the intended entry point is ``preprocess`` = ``mask_pii(normalize_text(text))``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from minyi_nlp.text.normalize import normalize_text
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


def _always(text: str) -> bool:
    return True


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
_ID18_RE = re.compile(r"(?<![0-9A-Za-z])[1-8](?:[ \-]?[0-9]){16}[ \-]?[0-9Xx](?![0-9])")
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
    for m in _ID15_RE.finditer(text):
        if valid_birth("19" + m.group(1)[6:12]):
            yield m.span(1)
    for m in _ID_CUED_RE.finditer(text):
        if len(_compact(m.group(1))) in (15, 18):
            yield m.span(1)
    for m in _PASSPORT_RE.finditer(text):
        yield m.span(1)


# ---------------------------------------------------------------- bank cards (Luhn, or a cue)
_CARD_RE = re.compile(
    r"(?<![0-9.])(?:[1-9][0-9]{15,18}|[1-9][0-9]{3}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)(?![0-9]|\.[0-9])"
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
    for m in _CARD_CUED_RE.finditer(text):
        yield m.span(1)


# ---------------------------------------------------------------- phones
_MOBILE = r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}"
_CC86 = r"(?:(?:\+|00)\s?86|\(\+?86\)|86)[ -]?"
_LANDLINE = (
    rf"(?:\(0[1-9][0-9]{{1,2}}\)|0[1-9][0-9]{{1,2}})\s*(?:{_DASH}{{1,2}}\s*)?[2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}"
)
_MOBILE_RE = re.compile(rf"(?<![0-9A-Za-z])(?:{_CC86})?{_MOBILE}{_NOT_AMOUNT}")
_LANDLINE_RE = re.compile(rf"(?<![0-9]){_LANDLINE}{_NOT_AMOUNT}")
# +86 landlines drop the trunk 0: "+86 10 6552 9988", "+86-731-8888-8888".
_CC86_LANDLINE_RE = re.compile(
    rf"(?<![0-9]){_CC86}\(?0?[1-9][0-9]{{1,2}}\)?[ -]?[2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}(?![0-9])"
)
# Any other +country number: checked against the number plans of ``phonenumbers``.
_INTL_RE = re.compile(r"(?:\+|(?<![0-9])00)[1-9][0-9]{0,2}(?:[ -]?\(?[0-9]{1,5}\)?){2,5}(?![0-9])")
# A bare 7–8 digit local number only right after a phone cue ("电话：8231756").
_LOCAL_RE = re.compile(
    r"(?:电话|手机|座机|热线|联系方式|致电|拨打|(?<![a-z])tel|(?<![a-z])phone)(?:号码|号)?[^0-9\n]{0,6}?"
    rf"(?<![0-9])([2-9][0-9]{{2,3}}[ -]?[0-9]{{4}}){_NOT_AMOUNT}",
    re.IGNORECASE,
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
    spans += [m.span() for m in _CC86_LANDLINE_RE.finditer(text)]
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
_CN_NUM = r"[0-9]{1,4}|[一二三四五六七八九十]{1,3}"
_BUILDING = rf"(?:{_CN_NUM}|[A-Za-z])(?:栋|幢|号楼|座|号院)"
_UNIT = rf"(?:{_CN_NUM})单元"
_ROOM = r"[0-9]{3,4}(?:室|号|房|户)?"
_ADDRESS_RE = re.compile(
    rf"(?<![0-9A-Za-z])(?:{_BUILDING}\s*-?\s*(?:{_UNIT}\s*-?\s*)?(?:[0-9]{{1,2}}(?:楼|层)\s*)?{_ROOM}"
    rf"|{_UNIT}\s*-?\s*(?:[0-9]{{1,2}}(?:楼|层)\s*)?{_ROOM}"
    rf"|[0-9]{{1,3}}-[0-9]{{1,2}}-[0-9]{{3,4}}(?:室|号|房)?"
    rf"|[0-9]{{3,4}}(?:室|房间))(?![0-9])"
)


def _find_addresses(text: str) -> Spans:
    for m in _ADDRESS_RE.finditer(text):
        yield m.span()


# ---------------------------------------------------------------- the recognisers
@dataclass(frozen=True, slots=True)
class Recognizer:
    """One kind of PII: ``find`` gives spans; it runs only when ``gate`` says the text may hold one."""

    kind: str
    find: Callable[[str], Spans]
    gate: Gate


RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer("EMAIL", _find_emails, _has_email_sign),
    Recognizer("WECHAT", _find_wechat, _has_wechat_cue),
    Recognizer("ID", _find_ids, _has_digits),
    Recognizer("BANKCARD", _find_cards, _has_digits),
    Recognizer("PHONE", _find_phones, _has_digits),
    Recognizer("QQ", _find_qq, _has_qq_cue),
    Recognizer("PLATE", _find_plates, _has_plate_start),
    Recognizer("ADDRESS", _find_addresses, _has_dwelling),
    Recognizer("NAME", find_names, _always),  # find_names scans for its cues itself
)


def _fold(text: str) -> str:
    return text.translate(_FOLD) if _FULL_WIDTH.search(text) else text


def _spans(folded: str, *, gated: bool = True) -> Iterator[tuple[str, int, int]]:
    open_gates: dict[Gate, bool] = {}
    for rec in RECOGNIZERS:
        if gated:
            is_open = open_gates.get(rec.gate)
            if is_open is None:
                is_open = open_gates[rec.gate] = rec.gate(folded)
            if not is_open:
                continue
        for start, end in rec.find(folded):
            yield rec.kind, start, end


def find_pii(text: str, *, gated: bool = True) -> list[PiiMatch]:
    """All PII items in ``text``, sorted by position, non-overlapping (earlier recognisers win).

    ``gated=False`` runs every recogniser on every text (for tests of the gates)."""
    if not text:
        return []
    taken: list[tuple[int, int]] = []
    found: list[PiiMatch] = []
    for kind, start, end in _spans(_fold(text), gated=gated):
        if start >= end or any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        found.append(PiiMatch(kind, start, end, text[start:end]))
    names = [m for m in found if m.kind == "NAME" and len(m.value) > 1]
    if names:
        _more_names(_fold(text), text, names, taken, found)
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
    matches = find_pii(text)
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
    return mask_pii(normalize_text(text))
