"""Personal names in appeal texts, found from their cues (Chinese names carry no capital letters).

A name is a surname (one of ~460 single or 19 compound surnames) and one or two given-name characters,
found
- after a cue: 我叫/姓名/名叫 (strong), 我是/本人/业主/联系人/申请人/投诉人/患者/儿子… (weak), then a
  boundary (punctuation, the end, or a word such as 反映/在/的/电话/今年);
- before a polite or job title: 张先生, 李女士, 王师傅, 刘老师, 刘洋先生.

False friends are kept out by a list of characters that never end a given name here (的, 区, 路 …)
and by jieba's dictionary: a candidate that is an ordinary word there (江苏, 高新, 方便) is not a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

__all__ = ["NAME_GATE", "SURNAMES", "cues", "find_names"]

SURNAMES = (
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
# Surnames that are also everyday words ("于", "向", "连"…): never trusted before a title.
_FUNCTION_WORDS = "于向和从以由为对将把被与及连都来也就还在是的给让叫请同跟乐应有姓"
# …nor before 师傅/大姐/小姐/老师 (维修师傅, 司机师傅, 售楼小姐, 语文老师, 历史老师).
_TRADE_WORDS = "修车安楼费门管司师花文史理化英数班商查时关任阳方党原"
# …nor, after a weak cue, those that often start ordinary words (本人曾在, 本人全家, 业主单位, 居民楼).
_WEAK_EXCLUDE = _FUNCTION_WORDS + "曾全高方明文常时原单房包初吉富银成严计宗管解项简商权班农支申查党祖母门楼"
_TITLE_SURNAMES = "".join(ch for ch in SURNAMES if ch not in _FUNCTION_WORDS)
_TRADE_SURNAMES = "".join(ch for ch in _TITLE_SURNAMES if ch not in _TRADE_WORDS)
_WEAK_SURNAMES = "".join(ch for ch in SURNAMES if ch not in _WEAK_EXCLUDE)

# Characters that are never part of a given name here: grammar words and place/organisation suffixes.
_NOT_GIVEN = (
    "的了是在有和与及或也都就还把被让给对从向往到自于为以而但却因所之这那哪么谁个们年月日号"
    "区县市镇村乡路街道巷栋楼室单元院校厂局站店司港湾省州处里内中外上下前后部门位名户业主居请反映说称"
    "投诉举报电话手机联系先女士姐师傅老阿姨人家走楼房车地方面边时候期间某我你他她它不吗呢吧啊呀哦去过着很太最更再又已曾将要会能该得没无非点衰副总当"
)
_GIVEN = rf"(?:(?![{_NOT_GIVEN}])[\u4e00-\u9fff])"
# What may follow a name: a non-Han character, the end, or one of these words.
_END_WORDS = (
    "反映|反应|说|讲|称|表示|在|于|是|的|因|向|从|和|与|及|等|家|住|今年|现年|年龄|男|女|电话|手机|号码|联系|身份证"
    "|同志|先生|女士|投诉|举报|来电|咨询|请|要求|希望|已|也|就|被|把|对|到|去|来|购|买|租|曾|一直|多次|自|之|所"
    "|夫妇|一家|欠|拖|更|还|都|又|却|便|才|竟|给|让|申请|办理|居住|签|为|系|认为|发现|遇到|今天|昨天|目前|现在|名下|户口|出生|身份|微信"
)
_END = rf"(?=[^\u4e00-\u9fff]|$|{_END_WORDS})"
_TITLES_POLITE = "先生|女士"
_TITLES_TRADE = (
    "小姐|阿姨|师傅|大爷|大妈|大姐|老师|经理|医生|大夫|律师|警官|叔叔|主任|老板|总监|科长|所长|局长|书记|校长|院长"
    "|村长|队长|镇长|县长|市长|厅长|处长|站长|组长|厂长|会计|司机|同学|同事|邻居|民警|护士"
)
_COMRADE = "同志"
_ROLES = (
    "联系人|申请人|投诉人|举报人|反映人|来电人|委托人|代理人|当事人|户主|租户|房东|房主|车主|患者|病人|家属|员工"
    "|职工|法人|负责人|经办人|收件人|收货人|借款人|出借人|业主|学生|孩子|小孩|儿子|女儿|父亲|母亲|爸爸|妈妈|丈夫"
    "|妻子|老公|老婆|爱人|哥哥|姐姐|弟弟|妹妹|爷爷|奶奶|外公|外婆|村民|居民|市民|老人"
)


def trie_regex(words: Iterable[str]) -> str:
    """An alternation of literal ``words`` nested by common prefix (我(?:叫|是)|本人…), longest first.

    ``re`` tries the alternatives of a group one by one; nesting them by first character means a
    position is tested against a handful of branches instead of all of them."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        optional = "" in node
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and not optional else "(?:" + "|".join(branches) + ")"
        return body + "?" if optional else body

    return emit(trie)


def _name(surnames: str) -> str:
    return rf"(?:{_COMPOUND}|[{surnames}]){_GIVEN}{{1,2}}?"


_STRONG_CUES = "我叫|我的名字叫|我的名字是|名字叫|名字是|名字为|名叫|叫做|署名|姓名"
_CUE_KINDS = (
    {c: "strong" for c in _STRONG_CUES.split("|")} | {c: "role" for c in _ROLES.split("|")}
    | {"我是": "weak", "本人": "weak"} | {c: "polite" for c in _TITLES_POLITE.split("|")}
    | {c: "trade" for c in _TITLES_TRADE.split("|")} | {_COMRADE: "comrade", "叫": "weak"}
)
#: Every cue, leftmost-longest: a text without one holds no name this module can find. The definition;
#: :func:`_scan` finds the same cues in an Aho-Corasick pass (faster: many cues start with common
#: characters, 大/小/市/出…, where ``re`` would try the pattern).
NAME_GATE = re.compile(trie_regex(_CUE_KINDS))
_ROLE_STRONG_RE = re.compile(r"\s*(?:[:：]|是|为|叫)")
_AFTER_STRONG_RE = re.compile(rf"\s*[:：]?\s*(?:是|为|叫)?\s*({_name(SURNAMES)}){_END}")
_AFTER_WEAK_RE = re.compile(rf"(?:是|叫)?\s*({_name(_WEAK_SURNAMES)}){_END}")
# Words that look like a surname and a given name but are not (老人,谢谢; 与父亲相依为命).
_NOT_NAMES = frozenset(
    ["谢谢", "相依", "万一", "于是", "高兴", "方便", "安全", "成功", "江湖", "敬呈",
     "高一", "高二", "高三", "初一", "初二", "初三"]
)
_TRADE_SURNAME_SET = frozenset(_TRADE_SURNAMES)
# A name right before its details: "陈修文:0746-…", "陈琳(电话)…", "王迪仁,现年46岁,男". The details
# are found first (each pattern starts with a character class, so ``re`` scans fast), then the name
# that ends right before them.
_COLON_NUMBER_RE = re.compile(r"[:：]\s*[0-9+(]")
_PHONE_WORD_RE = re.compile(r"(?:电话|手机|联系电话|联系方式)\)?[:：]?\s*[0-9+(]")
_PERSON_DETAILS_RE = re.compile(r"[,，、]\s*(?:男|女|现年|今年[0-9]|[0-9]{1,3}岁)")
# These are found in the cues' Aho-Corasick pass, from the words they hold (a cue may start with one,
# as 女儿 and 女士 do, but overlaps none otherwise): what must follow a colon or a phone word is then
# matched there, and a person's details are traced back from 男/女/现年/今年/岁 to their comma.
_DETAIL_WORDS = {":": "colon", "：": "colon", "电话": "phone", "手机": "phone", "联系电话": "phone",
                 "联系方式": "phone", "男": "person", "女": "person", "现年": "person", "今年": "person",
                 "岁": "person"}
_COLON_TAIL_RE = re.compile(r"\s*[0-9+(]")
_PHONE_TAIL_RE = re.compile(r"\)?[:：]?\s*[0-9+(]")
_NAME_BEFORE_RE = re.compile(rf"((?:{_COMPOUND}|[{_TITLE_SURNAMES}]){_GIVEN}{{1,2}})\s*$")
_NAME_BEFORE_PHONE_RE = re.compile(rf"((?:{_COMPOUND}|[{_TITLE_SURNAMES}]){_GIVEN}{{1,2}})\s*[,，]?\s*\(?$")
_PERSON_AFTER_RE = re.compile(r"[,，、]\s*(?:男|女|现年|今年[0-9]|[0-9]{1,3}岁)")


@lru_cache(maxsize=1)
def _common_words() -> frozenset[str]:
    """Words of jieba's dictionary: every two-character one (说明, 江苏, 高新 …) and the
    three-character ones that start with a surname (张家港) and are not tagged as person names
    (``nr``: 何建军). The tag is not trusted on two-character words: 盖章 and 王府 carry it."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("jieba")  # its dictionary file, without importing jieba
    if spec is None or spec.origin is None:
        return frozenset()
    path = Path(spec.origin).parent / "dict.txt"
    first = set(SURNAMES) | {c[0] for c in _COMPOUND.split("|")}
    out: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            word, _, rest = line.partition(" ")
            if len(word) == 2 or (len(word) == 3 and word[0] in first and not rest.rstrip().endswith(("nr", "nrfg"))):
                out.add(word)
    return frozenset(out)


def _plausible(name: str) -> bool:
    words = _common_words()
    if name in words or name in _NOT_NAMES:
        return False
    return name[:2] in _COMPOUNDS or not (len(name) == 3 and name[:2] in words)


_TITLE_SURNAME_SET = frozenset(_TITLE_SURNAMES)
_COMPOUNDS = frozenset(_COMPOUND.split("|"))
_NOT_GIVEN_SET = frozenset(_NOT_GIVEN + _FUNCTION_WORDS)


def _is_given(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" and ch not in _NOT_GIVEN_SET


def _before_title(text: str, end: int, single: frozenset[str]) -> tuple[int, int] | None:
    """The longest name ending right before a title at ``end`` (王丽华女士, 周龙金局长, 欧阳主任, 张先生).

    A one-character name must be one of ``single``; a longer one must not be an ordinary word, nor
    start inside one (公司肖先生: 司肖 is not a name)."""
    words = _common_words()
    for length in (4, 3, 2, 1):
        start = end - length
        if start < 0:
            continue
        cand = text[start:end]
        compound = cand[:2] in _COMPOUNDS
        if start > 0 and text[start - 1 : start + 1] in words:
            continue  # the name would start inside a word (感谢市长, 说明杨书记 → 杨)
        if length == 1:
            return (start, end) if cand in single else None
        if not compound and cand[0] not in _TITLE_SURNAME_SET:
            continue
        given = cand[2:] if compound else cand[1:]
        if len(given) > 2 or not all(_is_given(ch) for ch in given):
            continue
        if given and not _plausible(cand):
            continue
        return start, end
    return None


@lru_cache(maxsize=1)
def _automaton() -> tuple[Any, tuple[str, ...], tuple[str | None, ...]]:
    """An Aho-Corasick DFA over the cues and the details' words (leftmost-longest, as ``NAME_GATE``
    finds the cues), with the kind of each pattern index and the person's detail word it starts with."""
    import ahocorasick_rs

    words = list(_CUE_KINDS) + list(_DETAIL_WORDS)
    automaton = ahocorasick_rs.AhoCorasick(words, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
                                           implementation=ahocorasick_rs.Implementation.DFA)
    person = [w for w, kind in _DETAIL_WORDS.items() if kind == "person"]
    return (automaton, tuple(_CUE_KINDS.get(w) or _DETAIL_WORDS[w] for w in words),
            tuple(next((p for p in person if w.startswith(p)), None) for w in words))


_Cue = tuple[str, int, int]


def _scan(text: str) -> tuple[list[_Cue], list[int], list[int], list[int]]:
    """The cues, as (kind, start, end) like ``NAME_GATE.finditer``, and the starts of the matches of
    ``_COLON_NUMBER_RE``, ``_PHONE_WORD_RE`` and ``_PERSON_DETAILS_RE``, from one pass."""
    automaton, kinds, person_words = _automaton()
    found: list[_Cue] = []
    colons: list[int] = []
    phones: list[int] = []
    persons: list[int] = []
    for i, start, end in automaton.find_matches_as_indexes(text):
        kind = kinds[i]
        if kind == "colon":
            if _COLON_TAIL_RE.match(text, end) is not None:
                colons.append(start)
            continue
        if kind == "phone":  # 联系电话 hides its 电话, as in the regex
            if _PHONE_TAIL_RE.match(text, end) is not None:
                phones.append(start)
            continue
        if kind != "person":
            found.append((kind, start, end))
        word = person_words[i]  # also in the cues 女儿 and 女士
        if word is not None:
            comma = _person_comma(text, word, start, start + len(word))
            if comma >= 0:
                persons.append(comma)
    return found, colons, phones, persons


def _person_comma(text: str, word: str, start: int, end: int) -> int:
    """Where ``_PERSON_DETAILS_RE`` matches, from a word of its at ``start``: the comma before, or -1.

    The regex: a comma, whitespace, then 男, 女, 现年, 今年 and a digit, or 1–3 digits and 岁."""
    if word == "岁":
        q = start
        while q > start - 4 and q > 0 and "0" <= text[q - 1] <= "9":
            q -= 1
        if not 1 <= start - q <= 3:
            return -1
        start = q
    elif word == "今年" and not (end < len(text) and "0" <= text[end] <= "9"):
        return -1
    c = start - 1
    while c >= 0 and text[c].isspace():  # ``\s`` of a str pattern is ``str.isspace``
        c -= 1
    return c if c >= 0 and text[c] in ",，、" else -1


def cues(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every cue in ``text``, as ``NAME_GATE.finditer`` finds them."""
    return _scan(text)[0]


def find_names(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of the names in ``text``: one scan for the cues, then a match at each."""
    found, colons, phones, persons = _scan(text)
    n = len(text)
    for kind, start, end in found:
        # the character after the cue, for a cheap test before the regexes (what they can start with)
        after = text[end] if end < n else ""
        space_after = after.isspace()
        if kind in ("polite", "trade", "comrade"):
            single = _TITLE_SURNAME_SET if kind == "polite" else _TRADE_SURNAME_SET if kind == "trade" else _EMPTY
            span = _before_title(text, start, single) if _may_end_name(text, start, single) else None
            if span is not None:
                yield span
            # a name after a job title: "英语老师孙思琪是", "包工头尹川牛"
            if kind == "trade" and (after in _WEAK_NEXT or space_after):
                m = _AFTER_WEAK_RE.match(text, end)
                if m is not None and _plausible(m.group(1)):
                    yield m.span(1)
        elif after in (_STRONG_NEXT if kind != "weak" else _WEAK_NEXT) or space_after:
            strong = kind == "strong" or (kind == "role" and _ROLE_STRONG_RE.match(text, end) is not None)
            m = (_AFTER_STRONG_RE if strong else _AFTER_WEAK_RE).match(text, end)
            if m is not None and (kind == "strong" or _plausible(m.group(1))
                                  or _PERSON_AFTER_RE.match(text, m.end(1)) is not None):
                yield m.span(1)
    yield from _names_before_details(text, colons, phones, persons)


# The characters that may come right after a cue when a name follows (besides whitespace): what
# ``_AFTER_STRONG_RE`` (the looser one) and ``_AFTER_WEAK_RE`` can start with.
_COMPOUND_FIRSTS = "".join(c[0] for c in _COMPOUND.split("|"))
_STRONG_NEXT = frozenset(":：是为叫" + SURNAMES + _COMPOUND_FIRSTS)
_WEAK_NEXT = frozenset("是叫" + _WEAK_SURNAMES + _COMPOUND_FIRSTS)


_COMPOUND_SECONDS = frozenset(c[1] for c in _COMPOUND.split("|"))


def _may_end_name(text: str, end: int, single: frozenset[str]) -> bool:
    """Whether :func:`_before_title` can find a name ending at ``end``: its last character is a given
    name's, a one-character name in ``single`` or the end of a compound surname (a cheap test first)."""
    if end == 0:
        return False
    ch = text[end - 1]
    return ch in single or ch in _COMPOUND_SECONDS or _is_given(ch)


_EMPTY: frozenset[str] = frozenset()


def _names_before_details(text: str, colons: list[int], phones: list[int],
                          persons: list[int]) -> Iterator[tuple[int, int]]:
    for starts, before, person in ((colons, _NAME_BEFORE_RE, False), (phones, _NAME_BEFORE_PHONE_RE, False),
                                   (persons, _NAME_BEFORE_RE, True)):
        for d in starts:
            m = before.search(text, max(0, d - 9), d)
            if m is None:
                continue
            start, end = m.span(1)
            if start > 0 and text[start - 1 : start + 1] in _common_words():
                continue
            if person:  # sex or age follow: a person ("60周岁,女" is not one)
                if not (start > 0 and text[start - 1].isdigit()) and m.group(1) not in _NOT_NAMES:
                    yield start, end
            elif _plausible(m.group(1)):
                yield start, end


_LIST_NEXT_RE = re.compile(
    rf"\s*、\s*((?:{_COMPOUND}|[{SURNAMES}]){_GIVEN}{{1,2}}?)(?=、|{_END_WORDS}|[^\u4e00-\u9fff]|$)"
)
_LIST_PREV_RE = re.compile(rf"(?:^|(?<=[^\u4e00-\u9fff]))((?:{_COMPOUND}|[{SURNAMES}]){_GIVEN}{{1,2}})\s*、\s*$")


def list_neighbours(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Names listed with 、 right before or after a found name ("刘祖金、何建军、张德海同志")."""
    while (m := _LIST_NEXT_RE.match(text, end)) is not None and _plausible(m.group(1)):
        end = m.end(1)
        yield m.span(1)
    while (m := _LIST_PREV_RE.search(text, max(0, start - 8), start)) is not None and _plausible(m.group(1)):
        start = m.start(1)
        yield m.span(1)


def repeats(text: str, name: str, taken: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Every other occurrence of a found ``name`` (two characters or more) outside ``taken``."""
    spans = list(taken)
    pos = text.find(name)
    while pos >= 0:
        end = pos + len(name)
        if not any(pos < e and s < end for s, e in spans):
            yield pos, end
        pos = text.find(name, end)
