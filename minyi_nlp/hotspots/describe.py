"""A readable problem description per group: where (the place found in its texts), who, and what.

The *what* is the group's most representative title: the member whose keyword vector is closest to the
group's mean vector, with a leading 投诉/关于/反映 … and trailing punctuation removed (an appeal without a
title gives its first sentence). The *where* is the site most members name (丽发新城小区), prefixed by the
district or street most members name (A2区); without a site, the district or street alone; without
either, the people the appeals speak for (58车贷受害人 → 受害人). Everything here is built from
preprocessed, PII-masked text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import scipy.sparse as sp

from minyi_nlp.hotspots.places import find_people, find_sites, gazetteer

__all__ = ["clean_title", "describe_group", "group_place", "representative"]

_LEAD = re.compile(
    r"^(?:关于|投诉|反映|反应|举报|咨询|请问|建议|强烈|坚决|再次|紧急|实名|请求|恳请|求助|[:：,，。!！?？\s])+"
)
_TRAIL = re.compile(r"[\s,，。.;；:：!！?？、…]+$")
_SENTENCE = re.compile(r"^[^。！？!?\n]{4,60}")
_MAX_TITLE = 60


def clean_title(title: str, content: str = "") -> str:
    """A title without its leading request words and trailing punctuation; else the content's first sentence."""
    text = (title or "").strip()
    if not text:
        m = _SENTENCE.search((content or "").strip())
        text = m.group(0) if m else (content or "").strip()[:_MAX_TITLE]
    cleaned = _TRAIL.sub("", _LEAD.sub("", text))
    return (cleaned or text)[:_MAX_TITLE]


def representative(vectors: sp.csr_matrix) -> int:
    """Row position of the member closest to the group's mean vector (the first on ties)."""
    if vectors.shape[0] <= 2:
        return 0
    centroid = np.asarray(vectors.mean(axis=0)).ravel()
    return int(np.argmax(vectors @ centroid))


def _district(text: str) -> str:
    from minyi_nlp.routing.jurisdiction import find_jurisdiction

    j = find_jurisdiction(text, use_cpca=False, gazetteer=gazetteer())
    return j.full_name if j.level in ("district", "street") else ""


def group_place(titles: Sequence[str], heads: Sequence[str]) -> tuple[str, str]:
    """``(place, people)`` most members name: ``("A2区丽发新城小区", "业主")``; ``""`` where none.

    Sites are counted in the titles; only when no title names one, in the text heads (``heads``: title
    plus the start of the content), where a site must then be named by two members (or the only one).
    """
    sites: Counter[str] = Counter(s for t in titles for s in set(find_sites(t)))
    if not sites:
        sites = Counter(s for h in heads for s in set(find_sites(h)))
        if len(heads) > 1:
            sites = Counter({s: c for s, c in sites.items() if c >= 2})
    districts = Counter(d for d in map(_district, heads) if d)
    people = Counter(p for h in heads for p in find_people(h)[:1])
    district = districts.most_common(1)[0][0] if districts else ""
    who = people.most_common(1)[0][0] if people else ""
    if sites:
        site = sites.most_common(1)[0][0]
        return (site if not district or district in site else f"{district}{site}"), who
    return district, who


def _day(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d") if t else ""


def describe_group(
    *,
    title: str,
    place: str,
    people: str,
    n: int,
    citizens: int,
    likes: int,
    start: datetime | None,
    end: datetime | None,
) -> str:
    """One sentence, e.g.
    ``2019-11-02至2020-01-26，49位市民（52条留言）反映A2区丽发新城小区：丽发新城小区附近搅拌站扰民。``"""
    when = ""
    if start and end:
        when = f"{_day(start)}，" if _day(start) == _day(end) else f"{_day(start)}至{_day(end)}，"
    who = f"{citizens}位{people or '市民'}" if people and not place else f"{citizens}位市民"
    count = f"（{n}条留言）" if n != citizens else ""
    where = f"{place}：" if place else "："
    votes = f"（{likes}次点赞）" if likes > 0 else ""
    return f"{when}{who}{count}反映{where}{title}{votes}。"
