"""Sites named in an appeal (a housing estate, a road, a school, a company) and the people it speaks for.

A hot issue is one event: a subject at one *site*. Jurisdiction (A2区, 暮云街道) comes from
:mod:`minyi_nlp.routing.jurisdiction`; this module finds the finer site names that follow it
(丽发新城小区, 劳动东路魅力之城小区, 伊景园滨河苑, 西地省涉外经济学院) with a plain rule:

* the text is cut into runs at punctuation, at every place the jurisdiction finder recognises
  (A市, A5区, 暮云街道 …) and at words that cannot be part of a name (投诉, 关于, 附近, 的 …);
* a run's site is its longest prefix (≤ 16 characters) that ends in a site suffix (小区, 苑, 路,
  学院, 公司 …), with a name of at least two characters before the suffix that is not generic
  (搅拌站, 该小区 and 停车场 are not sites).

Two appeals name *different* sites when their site names share no character bigram outside the
generic ones (东路, 小区, 有限 …): that is :func:`sites_conflict`, used by the grouping to keep the
same complaint at two estates apart. The word lists are data: ``resources/hotspot_sites.yaml``.
Texts must be preprocessed (normalised, masked) first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = ["SiteRules", "find_people", "find_sites", "site_rules", "site_signature", "sites_conflict"]

RULES_FILE = "hotspot_sites.yaml"
_NAME_CHARS = r"0-9A-Za-z\u4e00-\u9fff·"
_RUN_RE = re.compile(rf"[{_NAME_CHARS}]+")
_HAN_RE = re.compile(r"[\u4e00-\u9fff]")
_MAX_NAME = 10  # characters before the first suffix
_MAX_LINK = 8  # characters from one suffix to the next within one site (劳动东路 + 魅力之城 + 小区)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@dataclass(frozen=True)
class SiteRules:
    """The compiled word lists of ``resources/hotspot_sites.yaml``."""

    suffix: re.Pattern[str]
    breaks: re.Pattern[str]
    modifiers: re.Pattern[str]
    generic_names: frozenset[str]
    generic_bigrams: frozenset[str]
    people: re.Pattern[str]


@lru_cache(maxsize=1)
def site_rules() -> SiteRules:
    """Load and compile the word lists (once per process)."""
    import yaml

    from minyi_nlp.config import RESOURCES_DIR

    data = yaml.safe_load((RESOURCES_DIR / RULES_FILE).read_text(encoding="utf-8"))
    words = {k: str(v).split() for k, v in data.items() if isinstance(v, str)}
    not_after, not_before = data["not_after"], data["not_before"]
    suffixes = []
    for s in sorted(words["suffixes"], key=len, reverse=True):
        before = f"(?<![{not_before[s]}])" if s in not_before else ""
        after = f"(?![{not_after[s]}])" if s in not_after else ""
        suffixes.append(before + re.escape(s) + after)
    return SiteRules(
        suffix=re.compile("(?:" + "|".join(suffixes) + ")"),
        breaks=re.compile(_alternation(words["break_words"])),
        modifiers=re.compile(f"^(?:{_alternation(words['modifiers'])})+"),
        generic_names=frozenset(words["generic_names"]),
        generic_bigrams=frozenset(words["generic_bigrams"]),
        people=re.compile(_alternation(words["people"])),
    )


@lru_cache(maxsize=1)
def gazetteer() -> Any:
    """The jurisdiction gazetteer, loaded once per process (its loader resolves paths on every call)."""
    from minyi_nlp.routing.jurisdiction import load_gazetteer

    return load_gazetteer()


def _cut_points(text: str) -> list[tuple[int, int]]:
    """Spans of places the jurisdiction finder knows (cities, districts, streets): names stop there."""
    from minyi_nlp.routing.jurisdiction import iter_places

    return [p.matched for p in iter_places(text, gazetteer=gazetteer()) if p.matched is not None]


def _runs(text: str) -> Iterable[str]:
    """Pieces of ``text`` between punctuation, known places and break words."""
    pos = 0
    pieces = []
    for start, end in _cut_points(text):
        pieces.append(text[pos:start])
        pos = end
    pieces.append(text[pos:])
    for piece in pieces:
        for run in _RUN_RE.findall(piece):
            yield from (r for r in site_rules().breaks.split(run) if r)


def _real_name(name: str) -> bool:
    """At least two Han characters that are more than a generic word with modifiers (非法搅拌 is generic)."""
    if len(_HAN_RE.findall(name)) < 2:
        return False
    rules = site_rules()
    core = rules.modifiers.sub("", name)
    if core in rules.generic_names or len(core) < 2:
        return False
    return not any(core.endswith(g) and len(core) - len(g) < 2 for g in rules.generic_names)


def _site_of_run(run: str) -> str | None:
    """The run's leading site: a real name of ≤ 10 characters and its suffix, extended by suffixes that
    follow within 8 characters (劳动东路魅力之城小区); None if the run does not start with one."""
    end = None
    for m in site_rules().suffix.finditer(run):
        if end is None:
            name = run[: m.start()]
            if len(name) > _MAX_NAME:
                return None
            if _real_name(name):
                end = m.end()
        elif m.end() - end <= _MAX_LINK:
            end = m.end()
        else:
            break
    return run[:end] if end else None


def find_sites(text: str) -> list[str]:
    """Site names in order of appearance, each once: ``"A5区劳动东路魅力之城小区…"`` → ``["劳动东路魅力之城小区"]``."""
    seen: dict[str, None] = {}
    for run in _runs(text or ""):
        site = _site_of_run(run)
        if site:
            seen.setdefault(site, None)
    return list(seen)


@lru_cache(maxsize=65536)
def _site_bigrams(site: str) -> frozenset[str]:
    rules = site_rules()
    stripped = rules.suffix.sub("", site)
    core = stripped if len(stripped) >= 2 else site
    grams = {core[i : i + 2] for i in range(len(core) - 1)}
    return frozenset(g for g in grams if g not in rules.generic_bigrams and not g.isdigit())


def site_signature(sites: Iterable[str]) -> frozenset[str]:
    """The distinctive character bigrams of some site names (suffixes and generic bigrams left out)."""
    out: set[str] = set()
    for site in sites:
        out |= _site_bigrams(site)
    return frozenset(out)


def sites_conflict(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> bool:
    """True when both name sites and no distinctive bigram is shared: two different places."""
    return bool(a) and bool(b) and a.isdisjoint(b)


def find_people(text: str) -> list[str]:
    """Groups of people the text speaks for (业主, 学生, 受害人 …), most mentioned first."""
    counts = Counter(site_rules().people.findall(text or ""))
    return [w for w, _ in counts.most_common()]
