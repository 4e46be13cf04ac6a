"""Landmarks: the named places at the head of an appeal (estates, roads, schools, companies, stations …).

Two appeals about the same kind of matter are often copies of one template with another estate's name in
the title (柏家塘小区 KTV vs 燕联小区 KTV). ``landmarks`` takes the names written before a place suffix
(小区, 花园, 苑, 路, 学院, 公司, 站 …) in the first ``head`` characters of a preprocessed text;
``conflict`` says whether two appeals both name landmarks and none of them agree (equal, one inside the
other, or sharing three characters). A conflict costs the re-rank score its ``place_penalty``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["conflict", "landmarks"]

_SUFFIX = ("小区|花园|家园|公寓|新村|新城|苑|府|城|广场|大厦|中心|大道|路|街|巷|学校|学院|小学|中学|幼儿园|医院|"
           "公司|集团|村|镇|站|线|公园|酒店|驾校")
_NAME = re.compile(rf"([\u4e00-\u9fffA-Za-z0-9]{{2,8}}?)(?:{_SUFFIX})")
_LEAD_PLACE = re.compile(r"^(?:[A-Z]\d*[市区县州])+")  # anonymised districts: compared by jurisdiction instead
_LEAD_WORDS = re.compile(r"^(?:在|位于|关于|反映|投诉|举报|咨询|请问|建议|希望|我是|家住|住在|的)+")
_NOT_NAMES = frozenset({"我们", "我家", "这个", "那个", "一个", "附近", "周边", "所在", "小区"})


def landmarks(text: str, head: int = 80) -> frozenset[str]:
    """Landmark names in the first ``head`` characters of a preprocessed text."""
    out = set()
    for match in _NAME.finditer(text[:head]):
        name = _LEAD_WORDS.sub("", _LEAD_PLACE.sub("", match.group(1)))
        if len(name) >= 2 and name not in _NOT_NAMES:
            out.add(name)
    return frozenset(out)


def _agree(a: str, b: str) -> bool:
    return a in b or b in a or len(set(a) & set(b)) >= 3


def conflict(a: Iterable[str], b: Iterable[str]) -> bool:
    """Both name landmarks and no pair of them agrees."""
    a, b = tuple(a), tuple(b)
    return bool(a) and bool(b) and not any(_agree(x, y) for x in a for y in b)
