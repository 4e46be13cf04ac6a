"""Landmarks: the named places at the head of an appeal (estates, roads, schools, companies, stations …).

Two appeals about the same kind of matter are often copies of one template with another estate's name in
the title (柏家塘小区 KTV vs 燕联小区 KTV). ``landmarks`` takes the names written before a place suffix
(小区, 花园, 苑, 路, 学院, 公司, 站 …) in the first ``head`` characters of a preprocessed text, and keeps
the first ``context`` characters (spaces removed) with them; ``conflict`` says whether two appeals both name
landmarks, none of them agree (equal, one inside the other, or sharing three characters) and neither
appeal writes one of the other's names in its context. The extractor cuts names loosely (我们是英祥春天,
诉A市伊景园滨河, 尊敬的A市): the context check keeps such a cut from splitting two reports of one event.
A conflict costs the re-rank score its ``place_penalty``; a shared landmark (``relation`` 1) lifts the
penalty for districts that differ (the router's district is wrong more often than a shared estate name).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["Landmarks", "conflict", "landmarks", "relation"]

_SUFFIX = ("小区|花园|家园|公寓|新村|新城|苑|府|城|广场|大厦|中心|大道|路|街|巷|学校|学院|小学|中学|幼儿园|医院|"
           "公司|集团|村|镇|站|线|公园|酒店|驾校")
_NAME = re.compile(rf"([\u4e00-\u9fffA-Za-z0-9]{{2,8}}?)(?:{_SUFFIX})")
_LEAD_PLACE = re.compile(r"^(?:[A-Z]\d*[市区县州])+")  # anonymised districts: compared by jurisdiction instead
_LEAD_WORDS = re.compile(r"^(?:在|位于|关于|反映|投诉|举报|咨询|请问|建议|希望|"
                         r"我们是|我是|我们|本人|家住|住在|尊敬的|的)+")
_NOT_NAMES = frozenset({"我们", "我家", "这个", "那个", "一个", "附近", "周边", "所在", "小区"})
CONTEXT_CHARS = 150  # where another appeal's landmark names are looked for


class Landmarks(frozenset[str]):
    """Landmark names (a frozenset) and ``context``: the head of the text they were read from, spaces
    removed. A plain frozenset works wherever a ``Landmarks`` does (no context: names only)."""

    context: str

    def __new__(cls, names: Iterable[str] = (), context: str = "") -> Landmarks:
        self = super().__new__(cls, names)
        self.context = context
        return self


def landmarks(text: str, head: int = 80, context: int = CONTEXT_CHARS) -> Landmarks:
    """Landmark names in the first ``head`` characters of a preprocessed text, with its first ``context``
    non-space characters."""
    out = set()
    for match in _NAME.finditer(text[:head]):
        name = _LEAD_WORDS.sub("", _LEAD_PLACE.sub("", match.group(1)))
        if len(name) >= 2 and name not in _NOT_NAMES:
            out.add(name)
    return Landmarks(out, "".join(text[: 2 * context].split())[:context])


def _agree(a: str, b: str) -> bool:
    return a in b or b in a or len(set(a) & set(b)) >= 3


def _written_in(names: tuple[str, ...], context: str) -> bool:
    return bool(context) and any(name in context for name in names)


def relation(a: Iterable[str], b: Iterable[str]) -> int:
    """1 when two appeals share a landmark (a pair of names agrees, or one context contains a name of the
    other), -1 when both name landmarks and share none (a conflict), 0 when either names none."""
    x, y = tuple(a), tuple(b)
    if not x or not y:
        return 0
    if any(_agree(p, q) for p in x for q in y):
        return 1
    return 1 if _written_in(x, getattr(b, "context", "")) or _written_in(y, getattr(a, "context", "")) else -1


def conflict(a: Iterable[str], b: Iterable[str]) -> bool:
    """Both name landmarks, no pair of them agrees, and neither context contains one of the other's names."""
    return relation(a, b) < 0
