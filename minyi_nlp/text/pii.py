"""Find and mask personal data (PII) in appeal texts.

Detectors run in priority order — e-mail, ID number, bank card, phone, licence plate, name —
and a later detector never takes characters an earlier one already claimed. Numeric detectors
are validated (GB 11643 checksum and birth date for IDs, Luhn for bank cards, number plans for
phones) or need a cue word, so dates, money, house numbers, anonymised place codes (A3区) and
user ids (A000012345, UU0081234) are left alone.

Offsets refer to the text as given. Detection also works on raw text with full-width digits,
but the intended entry point is ``preprocess`` = ``mask_pii(normalize_text(text))``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from minyi_nlp.text.normalize import normalize_text

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

PII_KINDS: tuple[str, ...] = ("EMAIL", "ID", "BANKCARD", "PHONE", "PLATE", "NAME")
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

_NOT_AMOUNT = r"(?![0-9]|\.[0-9]|\s*[元万亿块])"  # a number followed by these is money, not PII
_DASH = r"[-‐‑–—―~]"

# ---------------------------------------------------------------- e-mail
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9])"
)

# ---------------------------------------------------------------- ID numbers (GB 11643-1999)
_ID18_RE = re.compile(r"(?<![0-9])[1-8][0-9]{5}(?:18|19|20)[0-9]{9}[0-9Xx](?![0-9])")
_ID_CUE = r"(?:身份证|证件|公民身份)(?:号码|号)?[^0-9\n]{0,4}?"
_ID15_RE = re.compile(_ID_CUE + r"(?<![0-9])([1-8][0-9]{14})(?![0-9A-Za-z*])")
# Partly starred IDs after a cue ("身份证430322195601****"): the visible part is still personal.
_ID_STARRED_RE = re.compile(_ID_CUE + r"(?<![0-9])([0-9][0-9*]{13,16}[0-9Xx*])(?![0-9A-Za-z*])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _valid_birth(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return date(1880, 1, 1) <= born <= date.today()


def is_valid_id18(number: str) -> bool:
    """GB 11643 check: 17 digits + check character (digit or X) and a plausible birth date."""
    if len(number) != 18 or not (number.isascii() and number[:17].isdigit()):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper() and _valid_birth(number[6:14])


def _find_ids(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _ID18_RE.finditer(text):
        if is_valid_id18(m.group()):
            yield "ID", m.start(), m.end()
    for m in _ID15_RE.finditer(text):
        if _valid_birth("19" + m.group(1)[6:12]):
            yield "ID", m.start(1), m.end(1)
    for m in _ID_STARRED_RE.finditer(text):
        value = m.group(1)
        if "*" in value and len(value) in (15, 18):
            yield "ID", m.start(1), m.end(1)


# ---------------------------------------------------------------- bank cards (Luhn)
_CARD_RE = re.compile(
    r"(?<![0-9.])(?:[1-9][0-9]{15,18}|[1-9][0-9]{3}(?:[ -][0-9]{4}){3}(?:[ -]?[0-9]{1,3})?)(?![0-9]|\.[0-9])"
)


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check of an ASCII digit string."""
    if not (digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _find_cards(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if 16 <= len(digits) <= 19 and luhn_ok(digits):
            yield "BANKCARD", m.start(), m.end()


# ---------------------------------------------------------------- phones
_MOBILE = r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}"
_LANDLINE = rf"(?:\(0[1-9][0-9]{{1,2}}\)|0[1-9][0-9]{{1,2}})\s*(?:{_DASH}{{1,2}}\s*)?[2-9][0-9]{{6,7}}"
_MOBILE_RE = re.compile(rf"(?<![0-9])(?:(?:\+|00)?86[ -]?)?{_MOBILE}{_NOT_AMOUNT}")
_LANDLINE_RE = re.compile(rf"(?<![0-9]){_LANDLINE}{_NOT_AMOUNT}")
# A bare 7–8 digit local number only right after a phone cue ("电话：8231756").
_LOCAL_RE = re.compile(
    r"(?:电话|手机|座机|热线|联系方式|致电|拨打|(?<![a-z])tel|(?<![a-z])phone)(?:号码|号)?[^0-9\n]{0,6}?"
    rf"(?<![0-9])([2-9][0-9]{{6,7}}){_NOT_AMOUNT}",
    re.IGNORECASE,
)
# Another number listed right after a phone ("0746-8353066、8367386").
_NEXT_PHONE_RE = re.compile(
    rf"\s*(?:[、/,;]|或者?|和|及)\s*({_LANDLINE}|{_MOBILE}|[2-9][0-9]{{6,7}}){_NOT_AMOUNT}"
)


def _find_phones(text: str) -> Iterator[tuple[str, int, int]]:
    spans = [m.span() for m in _MOBILE_RE.finditer(text)]
    spans += [m.span() for m in _LANDLINE_RE.finditer(text)]
    spans += [m.span(1) for m in _LOCAL_RE.finditer(text)]
    for start, end in spans:
        yield "PHONE", start, end
        while m := _NEXT_PHONE_RE.match(text, end):
            end = m.end(1)
            yield "PHONE", m.start(1), end


# ---------------------------------------------------------------- licence plates
# 31 province abbreviations, plus 楚, which the Teddy Cup data uses for its anonymised province.
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼楚"
_PL = "A-HJ-NP-Za-hj-np-z"  # plate letters: no I, no O
_PLATE_RE = re.compile(
    rf"[{_PROVINCES}][{_PL}][·•・･. -]?"
    rf"(?:[DFdf][{_PL}0-9][0-9]{{4}}|[0-9]{{5}}[DFdf]|[{_PL}0-9]{{4}}[{_PL}0-9挂学警港澳领试超])"
)


def _find_plates(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _PLATE_RE.finditer(text):
        if sum(ch.isdigit() for ch in m.group()) >= 2:  # real plates carry digits; words do not
            yield "PLATE", m.start(), m.end()


# ---------------------------------------------------------------- personal names (cue-based)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒"
    "阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓"
    "古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫"
    "寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼满闻厉"
    "伊仝郜阚花权帅屠豆朴盖练廉禹井祖漆巴丰支卿狄计索宣晋相初门云容敬扈晁芮普阙浦戈伏鹿薄邸雍辜羊"
    "乌母裘亓修邰赫杭况宿鲜印逯隆茹诸战慕危银亢嵇湛宾戎勾茅揭尉冶斯束檀衣展阴昝幸奉植衡富尧"
)
_COMPOUND = "欧阳|司马|诸葛|上官|东方|皇甫|尉迟|公孙|慕容|令狐|长孙|宇文|司徒|夏侯|端木|轩辕|独孤|南宫|西门"
# Surnames that are also everyday words ("于", "向", "连"…): never trusted before a polite title.
_FUNCTION_WORDS = "于向和从以由为对将把被与及连都来也就还在是的给让叫请同跟乐应有姓"
# …nor before 师傅/大姐/小姐 (维修师傅, 司机师傅, 售楼小姐, 保安大爷).
_TRADE_WORDS = "修车安楼费门管司师花"
# …nor, after a weak cue such as bare "本人", those that often start ordinary words
# ("本人曾在", "本人权益", "本人申请", "本人费用", "本人祖籍").
_WEAK_EXCLUDE = (
    _FUNCTION_WORDS + _TRADE_WORDS + "曾全高方明文常时原单房包初吉富银成严计宗管解项简商权班农支申查党祖母"
)
_TITLE_SURNAMES = "".join(ch for ch in _SURNAMES if ch not in _FUNCTION_WORDS)
_TRADE_SURNAMES = "".join(ch for ch in _TITLE_SURNAMES if ch not in _TRADE_WORDS)
_WEAK_SURNAMES = "".join(ch for ch in _SURNAMES if ch not in _WEAK_EXCLUDE)
_HAN = r"[\u4e00-\u9fff]"
_NOT_HAN = r"(?:[^\u4e00-\u9fff]|$)"
_TITLES = ("先生", "女士")
_STRICT_END = rf"(?={_NOT_HAN}|男|女|身份证|电话|手机|联系|现年|今年|家住|住在|性别|年龄)"
_LOOSE_END = (
    rf"(?={_NOT_HAN}|男|女|身份证|电话|手机|联系|现|今年|家|住|是|在|的|系|于|因|向|从|和|与|同志|先生|女士)"
)
_ROLES = r"(?:姓名|联系人|申请人|投诉人|举报人|反映人|委托人|代理人|当事人|户主)"


def _name(surnames: str) -> str:
    return rf"(?:{_COMPOUND}|[{surnames}]){_HAN}{{1,2}}?"


_NAME_RES = (
    # explicit cues ("我叫", "姓名：", "联系人："): any surname, loose end
    re.compile(rf"(?:我叫|我的名字(?:叫|是)|名叫|{_ROLES}\s*[:：])\s*({_name(_SURNAMES)}){_LOOSE_END}"),
    # weak cues ("本人李四，", "联系人秦园，"): fewer surnames, strict end
    re.compile(rf"(?:本人|{_ROLES}[,，]?)\s*({_name(_WEAK_SURNAMES)}){_STRICT_END}"),
    # a surname right before a polite title: "张先生", "李女士", "王师傅"
    re.compile(rf"((?:{_COMPOUND}|[{_TITLE_SURNAMES}]))(?=先生|女士)"),
    re.compile(rf"((?:{_COMPOUND}|[{_TRADE_SURNAMES}]))(?=小姐|阿姨|师傅|大爷|大妈|大姐)"),
    # surname + given name before 先生/女士 ("刘地先生"); "公司肖先生" is caught above
    re.compile(rf"((?:{_COMPOUND}|[{_TITLE_SURNAMES}])[^\W{_FUNCTION_WORDS}])(?=先生|女士)"),
)


def _find_names(text: str) -> Iterator[tuple[str, int, int]]:
    for rx in _NAME_RES:
        for m in rx.finditer(text):
            start, end = m.span(1)
            if text.endswith(_TITLES, start, end):  # "申请人：唐先生" → mask "唐" only
                end -= 2
            yield "NAME", start, end


# ---------------------------------------------------------------- public API
def _find_emails(text: str) -> Iterator[tuple[str, int, int]]:
    for m in _EMAIL_RE.finditer(text):
        yield "EMAIL", m.start(), m.end()


_DETECTORS: tuple[Callable[[str], Iterator[tuple[str, int, int]]], ...] = (
    _find_emails,
    _find_ids,
    _find_cards,
    _find_phones,
    _find_plates,
    _find_names,
)


def find_pii(text: str) -> list[PiiMatch]:
    """All PII items in ``text``, sorted by position, non-overlapping (earlier detectors win)."""
    if not text:
        return []
    folded = text.translate(_FOLD)
    taken: list[tuple[int, int]] = []
    found: list[PiiMatch] = []
    for detector in _DETECTORS:
        for kind, start, end in detector(folded):
            if start >= end or any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            found.append(PiiMatch(kind, start, end, text[start:end]))
    found.sort(key=lambda m: m.start)
    return found


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
