"""Jurisdiction (管辖) extraction: which city / district / street an appeal text is about.

Places are recognised from

* anonymised codes used by the Teddy Cup data: ``A市`` (city), ``A3区`` / ``A7县`` / ``B9市`` / ``D12市``
  (district level: 区, 县 and 县级市 — a letter *with* digits before 市), ``M6州`` (prefecture, city level).
  A bare letter before 区 (``B区``) is a building block of a housing estate, not a district, and is
  ignored. The parent of ``A3区`` is ``A市`` (same letter: the anonymisation's convention);
* real names listed in ``gazetteer.yaml`` (商洛市 and its 7 districts/counties), full names only in free
  text (short forms such as 商州 only inside unit names, see ``iter_places(short_names=True)``);
* streets/towns (XX街道, XX镇, XX乡) from the gazetteer — built from the data, each with the district it
  was seen with — and any well-formed street name written right after a district (``A3区洋湖街道``);
* real national names from the table of the ``cpca`` package (full names with their 市/区/县 suffix,
  three characters or more, only when nothing above matched; ``MINYI_USE_CPCA=false`` turns it off).

All names are looked up in one pass per table with an Aho-Corasick automaton (ahocorasick-rs).

``find_jurisdiction`` picks the most specific level: the district named most often (ties: the first
named), then a street of that district, else a street alone, else the city named most often, else the
default city (``gazetteer.yaml`` ``default_city``, overridable with ``MINYI_DEFAULT_CITY``).
Spans refer to the text as given: normalise the text (``normalize_text``) before calling.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from minyi_nlp.routing.lists import ListsError, default_lists_dir, get_lists_settings, read_yaml

__all__ = [
    "Gazetteer",
    "Jurisdiction",
    "StreetEntry",
    "build_street_gazetteer",
    "candidate_streets",
    "find_jurisdiction",
    "iter_places",
    "load_gazetteer",
    "place_at_level",
    "route_label",
    "write_gazetteer",
]

GAZETTEER_FILE = "gazetteer.yaml"
_HAN = "\u4e00-\u9fff"
# Anonymised codes: letter, optional 1–2 digits, suffix; not preceded by an ASCII letter (a digit is
# fine: "…0000-00000000A7县住房保障局" is a phone number, then the unit).
# (the lookbehind comes after the letter so that the regex engine can scan for [A-Z] first: 5x faster)
_ANON_RE = re.compile(r"([A-Z])(?<![A-Za-z][A-Z])(\d{1,2})?([市区县州])")
# A street/town name: 2–5 Han characters then 街道/镇/乡. 乡 must not start 乡村/乡镇… (a word, not a name).
_STREET_AFTER_RE = re.compile(rf"([{_HAN}]{{2,6}}?)(街道|镇|乡(?![村镇亲下土音]))")
# Words that make a 2–5 character "name" not a place name (城乡, 各乡镇, 到达各镇, 住房和城乡 …).
_NOT_A_NAME = re.compile(
    r"城乡|城镇|乡镇|县乡|之乡|家乡|故乡|返乡|小镇|古镇|重镇|[各某每的和及与到在给为是等]|"
    r"住房|局|政府|所有|部分|当地|基层|偏远|农村|贫困|重要|成立|第|包括|依据|背部|在职|创新|强化|加强|"
    r"选调|新设|城区|辖区|全县|全区|全市|境内|只有|医院|派|社区|村[委民组里]|^村|以[东南西北]|一些|最大|少数|事业单位|下面"
)
_BAD_ENDING = re.compile(r"(?:小镇|古镇|重镇|集镇|乡镇|城乡|家乡|故乡)$")


@dataclass(frozen=True)
class Jurisdiction:
    """A place at ``level`` city / district (区, 县, 县级市) / street (街道, 镇, 乡)."""

    level: str
    name: str
    parent: str | None = None
    matched: tuple[int, int] | None = None  # span in the input text; None for the default city
    source: str = "default"  # anonymised | gazetteer | street_pattern | cpca | default
    city: str | None = None  # the city (地级) the place lies in, when known (set by find_jurisdiction)

    @property
    def full_name(self) -> str:
        """``parent + name`` for streets with a known district (``A3区洋湖街道``), else ``name``."""
        return f"{self.parent}{self.name}" if self.level == "street" and self.parent else self.name


@dataclass(frozen=True)
class Place:
    """A real place name of the gazetteer (city or district level)."""

    name: str
    level: str
    parent: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class StreetEntry:
    """A street/town seen in the data with one district, and how often."""

    name: str
    parent: str | None
    count: int = 1
    source: str = ""


@dataclass(frozen=True, eq=False)
class Gazetteer:
    """Loaded ``gazetteer.yaml`` (hash by identity)."""

    version: str
    default_city: str
    places: Mapping[str, Place]
    streets: Mapping[str, tuple[StreetEntry, ...]]  # name → entries (several districts possible)
    alias_to_place: Mapping[str, str] = field(default_factory=dict)

    def street_parent(self, name: str) -> str | None:
        """The district a street name belongs to when unambiguous (one district, or one dominant ≥ 80 %)."""
        return _street_parent(self, name)

    def parents_of(self, name: str) -> frozenset[str]:
        return frozenset(e.parent for e in self.streets.get(name, ()) if e.parent)


@lru_cache(maxsize=4096)
def _street_parent(gaz: Gazetteer, name: str) -> str | None:
    entries = gaz.streets.get(name, ())
    parents = Counter({e.parent: e.count for e in entries if e.parent})
    if not parents:
        return None
    (best, n), total = parents.most_common(1)[0], sum(parents.values())
    return best if len(parents) == 1 or n / total >= 0.8 else None


# --------------------------------------------------------------------------- loading


def _fail(entry: str, fld: str, problem: str) -> ListsError:
    return ListsError(f"{GAZETTEER_FILE}: entry {entry}: field '{fld}': {problem}")


def _parse_gazetteer(data: Mapping[str, Any]) -> Gazetteer:
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise _fail("(top level)", "version", "must be a non-empty quoted string")
    default_city = data.get("default_city")
    if not isinstance(default_city, str) or not default_city:
        raise _fail("(top level)", "default_city", "must be a non-empty string")
    places: dict[str, Place] = {}
    aliases: dict[str, str] = {}
    for i, raw in enumerate(data.get("places") or []):
        entry = f"places[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise _fail(entry, "name", "must be a mapping with a string name")
        level = raw.get("level")
        if level not in ("city", "district"):
            raise _fail(f"{entry} ({raw['name']})", "level", f"{level!r} not in ['city', 'district']")
        place = Place(raw["name"], level, raw.get("parent"), tuple(raw.get("aliases") or ()))
        places[place.name] = place
        for alias in place.aliases:
            aliases[alias] = place.name
    streets: dict[str, list[StreetEntry]] = {}
    for i, raw in enumerate(data.get("streets") or []):
        entry = f"streets[{i}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise _fail(entry, "name", "must be a mapping with a string name")
        count = raw.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
            raise _fail(f"{entry} ({raw['name']})", "count", f"must be a positive integer, got {count!r}")
        if not re.fullmatch(rf"[{_HAN}]{{2,8}}(街道|镇|乡)", raw["name"]):
            raise _fail(f"{entry} ({raw['name']})", "name", "must be Han characters ending in 街道/镇/乡")
        item = StreetEntry(raw["name"], raw.get("parent"), count, str(raw.get("source") or ""))
        streets.setdefault(item.name, []).append(item)
    return Gazetteer(
        version=version,
        default_city=default_city,
        places=places,
        streets={k: tuple(v) for k, v in streets.items()},
        alias_to_place=aliases,
    )


@lru_cache(maxsize=4)
def _load_cached(path: str) -> Gazetteer:
    return _parse_gazetteer(read_yaml(Path(path)))


def load_gazetteer(directory: Path | None = None) -> Gazetteer:
    """Load ``gazetteer.yaml`` from the lists folder (``MINYI_LISTS_DIR`` or packaged); cached."""
    folder = Path(directory) if directory is not None else default_lists_dir()
    return _load_cached(str((folder / GAZETTEER_FILE).resolve()))


# --------------------------------------------------------------------------- matching


_PLACE, _ALIAS, _STREET = 0, 1, 2  # payload kinds in the gazetteer automaton
# a street name ending in 乡 must not be the start of 乡村/乡镇 … ("人民乡村振兴")
_NOT_AFTER_XIANG = frozenset("村镇亲下土音")


@dataclass(frozen=True)
class _Matcher:
    """An Aho-Corasick automaton (ahocorasick-rs, DFA) over names, with each name's payloads."""

    automaton: Any
    payloads: tuple[tuple[tuple[int, str], ...], ...]  # per pattern index: (kind, canonical name)


def _matcher(entries: Mapping[str, list[tuple[int, str]]]) -> _Matcher | None:
    if not entries:
        return None
    import ahocorasick_rs

    names = list(entries)
    automaton = ahocorasick_rs.AhoCorasick(names, implementation=ahocorasick_rs.Implementation.DFA)
    return _Matcher(automaton, tuple(tuple(entries[n]) for n in names))


@lru_cache(maxsize=8)
def _gazetteer_matcher(gaz: Gazetteer) -> _Matcher | None:
    """One automaton over every gazetteer name: places, their aliases and streets."""
    entries: dict[str, list[tuple[int, str]]] = {}
    for name in gaz.places:
        entries.setdefault(name, []).append((_PLACE, name))
    for alias, name in gaz.alias_to_place.items():
        entries.setdefault(alias, []).append((_ALIAS, name))
    for name in gaz.streets:
        entries.setdefault(name, []).append((_STREET, name))
    return _matcher(entries)


def _all_hits(text: str, matcher: _Matcher | None) -> list[tuple[int, int, int, str]]:
    """Every (overlapping) name in ``text`` as ``(start, end, kind, canonical)``, in one automaton pass."""
    if matcher is None:
        return []
    hits = []
    for index, start, end in matcher.automaton.find_matches_as_indexes(text, overlapping=True):
        for kind, name in matcher.payloads[index]:
            if kind == _STREET and text[end - 1] == "乡" and text[end : end + 1] in _NOT_AFTER_XIANG:
                continue
            hits.append((start, end, kind, name))
    return hits


def _leftmost_longest(
    hits: Iterable[tuple[int, int, int, str]], kinds: frozenset[int]
) -> list[tuple[int, int, str]]:
    """Non-overlapping hits of ``kinds`` as ``(start, end, canonical)``, leftmost first and the longest
    at each start: what a regex alternation of the names, longest first, finds scanning left to right."""
    out: list[tuple[int, int, str]] = []
    position = 0
    for start, neg_end, name in sorted((s, -e, n) for s, e, k, n in hits if k in kinds):
        if start >= position:
            out.append((start, -neg_end, name))
            position = -neg_end
    return out


def _clean_street_name(raw: str) -> str | None:
    """A street name from a candidate ("县涛圩镇" → "涛圩镇"), or None if it is not a name."""
    name = raw.lstrip("县市区")
    stem = re.sub(r"(街道|镇|乡)$", "", name)
    if len(stem) < 2 or _NOT_A_NAME.search(stem) or _BAD_ENDING.search(name) or re.fullmatch(r"(.+)\1", name):
        return None
    return name


def _anonymised(text: str) -> list[Jurisdiction]:
    out = []
    for m in _ANON_RE.finditer(text):
        letter, digits, suffix = m.groups()
        if suffix == "区" and not digits:
            continue  # "B区": a block of a housing estate
        if suffix == "州" or (suffix == "市" and not digits):
            level, parent = "city", None
        else:
            level, parent = "district", f"{letter}市"
        out.append(Jurisdiction(level, m.group(0), parent, m.span(), "anonymised"))
    return out


_PLACE_KINDS = frozenset((_PLACE,))
_ALIAS_KINDS = frozenset((_PLACE, _ALIAS))
_STREET_KINDS = frozenset((_STREET,))


def _real_places(
    hits: list[tuple[int, int, int, str]], gaz: Gazetteer, short_names: bool
) -> list[Jurisdiction]:
    out = []
    for start, end, name in _leftmost_longest(hits, _ALIAS_KINDS if short_names else _PLACE_KINDS):
        place = gaz.places[name]
        out.append(Jurisdiction(place.level, place.name, place.parent, (start, end), "gazetteer"))
    return out


def _streets_after(text: str, districts: list[Jurisdiction]) -> list[Jurisdiction]:
    out = []
    for d in districts:
        assert d.matched is not None
        m = _STREET_AFTER_RE.match(text, d.matched[1])
        if not m:
            continue
        name = _clean_street_name(m.group(0))
        if name:
            start = m.end() - len(name)
            out.append(Jurisdiction("street", name, d.name, (start, m.end()), "street_pattern"))
    return out


def _gazetteer_streets(hits: list[tuple[int, int, int, str]], gaz: Gazetteer) -> list[Jurisdiction]:
    return [
        Jurisdiction("street", name, gaz.street_parent(name), (start, end), "gazetteer")
        for start, end, name in _leftmost_longest(hits, _STREET_KINDS)
    ]


def _span(j: Jurisdiction) -> tuple[int, int]:
    assert j.matched is not None
    return j.matched


def _non_overlapping(items: list[Jurisdiction], size: int) -> list[Jurisdiction]:
    """Keep the longest of overlapping matches (ties: the first); result sorted by position."""
    ordered = sorted(items, key=_span)
    if all(a.matched[1] <= b.matched[0] for a, b in zip(ordered, ordered[1:], strict=False)):  # type: ignore[index]
        return ordered  # the usual case: nothing overlaps
    taken = bytearray(size)
    chosen: list[Jurisdiction] = []
    for item in sorted(ordered, key=lambda j: (j.matched[0] - j.matched[1], j.matched[0])):  # type: ignore[index]
        s, e = _span(item)
        if taken.find(1, s, e) < 0:
            chosen.append(item)
            taken[s:e] = b"\x01" * (e - s)
    return sorted(chosen, key=_span)


def iter_places(
    text: str, *, gazetteer: Gazetteer | None = None, short_names: bool = False
) -> list[Jurisdiction]:
    """Every place mention in ``text`` (non-overlapping, in order of appearance).

    ``short_names`` also accepts gazetteer aliases such as 商州 / 洛南 (meant for unit names like
    "丹凤人民政府办公室"; in free text they collide with ordinary words).
    """
    if not text:
        return []
    gaz = gazetteer or load_gazetteer()
    hits = _all_hits(text, _gazetteer_matcher(gaz))
    found = _anonymised(text) + _real_places(hits, gaz, short_names)
    districts = [j for j in found if j.level == "district"]
    found += _streets_after(text, districts) + _gazetteer_streets(hits, gaz)
    places = _non_overlapping(found, len(text))
    # a street right after its district inherits it even when the gazetteer name is ambiguous
    out: list[Jurisdiction] = []
    for prev, cur in zip([None, *places], places, strict=False):
        if (
            cur.level == "street"
            and prev is not None
            and prev.level == "district"
            and prev.matched[1] == cur.matched[0]  # type: ignore[index]
            and cur.parent != prev.name
        ):
            cur = Jurisdiction("street", cur.name, prev.name, cur.matched, cur.source)
        out.append(cur)
    return out


def _most_frequent(items: list[Jurisdiction]) -> Jurisdiction:
    """The most frequent name (ties: the first named); returns its first mention."""
    if len(items) == 1:
        return items[0]
    counts: dict[str, int] = {}
    for j in items:
        counts[j.name] = counts.get(j.name, 0) + 1
    best = max(counts.values())
    return next(j for j in items if counts[j.name] == best)


_NATIONAL_DISTRICT, _NATIONAL_CITY = 3, 4
_NATIONAL_KINDS = frozenset((_NATIONAL_DISTRICT, _NATIONAL_CITY))


@dataclass(frozen=True)
class _National:
    """China's city and district names (the table the ``cpca`` package ships) in one automaton."""

    matcher: _Matcher | None
    parents: Mapping[str, frozenset[str]]  # district name → the cities that have one of that name


def _cpca_table() -> Path | None:
    """``cpca/resources/adcodes.csv`` located without importing ``cpca`` (its import builds pandas
    tables); None when the package is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def _national() -> _National:
    """Full names (with their 市/区/县 suffix, three characters or more: 城区, 郊区 and two-character
    counties such as 南县 are ordinary words) of every city and district, from 12-digit adcodes."""
    import csv

    path = _cpca_table()
    if path is None:
        return _National(None, {})
    with path.open(encoding="utf-8") as handle:
        rows = [(r["adcode"], r["name"]) for r in csv.DictReader(handle)]
    names = {code[:6]: name for code, name in rows}
    entries: dict[str, list[tuple[int, str]]] = {}
    parents: dict[str, set[str]] = {}
    for code, name in rows:
        municipality = code[2:] == "0" * 10 and name.endswith("市")  # 北京市, 上海市 …
        if len(name) < 3 or name == "市辖区" or (code[2:4] == "00" and not municipality) or code[6:] != "0" * 6:
            continue
        if code[4:6] == "00":
            entries.setdefault(name, []).append((_NATIONAL_CITY, name))
            continue
        city = names.get(code[:4] + "00", "")
        if city in ("", "市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            city = names.get(code[:2] + "0000", "")  # municipalities: the province-level city
        entries.setdefault(name, []).append((_NATIONAL_DISTRICT, name))
        parents.setdefault(name, set()).add(city)
    return _National(_matcher(entries), {k: frozenset(v) for k, v in parents.items()})


def _national_place(text: str) -> Jurisdiction | None:
    """The first real district named in full (its city when the name is unique or the text names
    it), else the first real city; None when there is none."""
    national = _national()
    hits = _leftmost_longest(_all_hits(text, national.matcher), _NATIONAL_KINDS)
    cities = {name for _, _, name in hits if name not in national.parents}
    for start, end, name in hits:
        if name in national.parents:
            candidates = national.parents[name]
            named = candidates & cities
            parent = next(iter(named or candidates)) if len(named or candidates) == 1 else None
            return Jurisdiction("district", name, parent, (start, end), "cpca")
    if hits:
        start, end, name = hits[0]
        return Jurisdiction("city", name, None, (start, end), "cpca")
    return None


# A district code inside a longer name: a river (A9市河 = 浏阳河, A9市河东岸), a road (A1区南路 = 芙蓉南路,
# A3区大道, C5市路), a slope (A6区坡 = 望城坡): not the matter's place. (K2区河西 is an area of K2区, A3区山
# = 岳麓山 and A2区坡子街 lie in their district, 路口镇 and 江背镇 are towns; city codes are left alone:
# K市河东, C市路桥公司.)
_NAME_PART_AFTER = re.compile(r"(?:河(?!东(?!岸)|西(?!岸))|[东南西北中]?路(?!口镇)|大道|坡(?!子街))")
# A place the citizen compares with ("比M7市…", "不像M7市", "和M7市相比"): never the matter's place.
_COMPARE_BEFORE = re.compile(
    r"(?:比起?|不像|不如|(?<![好就图想录影])像|对比|相比|参照|参考|借鉴|效仿|羡慕|人家)"
    r"(?:隔壁|周边|邻近|其他|别的)?(?:的)?$"
)
_COMPARE_AFTER = re.compile(r"^[^，。！？；,.!?;]{0,4}(?:相比|比较)")
# "和/跟/与M7市一样": a comparison only with the preposition before ("整个C2区都是一样" is not one)
_ALIKE_BEFORE = re.compile(r"[和跟与同]$")
_ALIKE_AFTER = re.compile(r"^[^，。！？；,.!?;]{0,4}(?:一样|那样|似的|差不多)")
# Weaker signs ("M7市都…了", "M7市早就…"): an aside only when the text names another place.
_ASIDE_AFTER = re.compile(r"^(?:都[^，。！？；,.!?;]{0,12}了|早就|早已|已经[^，。！？；,.!?;]{0,10}了)")
# The citizen's origin ("老家在B9市", "我是B9市人", "B9市籍"): not the matter's place when another is named.
_HOME_BEFORE = re.compile(r"(?:老家|家乡|故乡|原籍|籍贯|祖籍|户籍地?|出生地?|生于|来自)(?:在|是|于|为|地)?[:：]?$")
_HOME_AFTER = re.compile(r"^(?:人(?![民员社大才力口事武])|籍)")


def _context(text: str, place: Jurisdiction, width: int = 8) -> tuple[str, str]:
    start, end = _span(place)
    return text[max(0, start - width) : start], text[end : end + width]


def _is_name_part(text: str, place: Jurisdiction) -> bool:
    return place.level == "district" and place.source == "anonymised" and bool(
        _NAME_PART_AFTER.match(text, _span(place)[1])
    )


def aside_reason(text: str, place: Jurisdiction) -> str | None:
    """Why a mention is not (or, for ``origin``/``aside``, only as a last resort) the matter's place:
    ``name part``, ``comparison``, ``origin``, ``aside``; None for an ordinary mention."""
    if _is_name_part(text, place):
        return "name part"
    before, after = _context(text, place)
    if (
        _COMPARE_BEFORE.search(before)
        or _COMPARE_AFTER.match(after)
        or (_ALIKE_BEFORE.search(before) and _ALIKE_AFTER.match(after))
    ):
        return "comparison"
    if _HOME_BEFORE.search(before) or _HOME_AFTER.match(after):
        return "origin"
    if _ASIDE_AFTER.match(after):
        return "aside"
    return None


def _matter_places(text: str, places: list[Jurisdiction]) -> list[Jurisdiction]:
    """Places that can be the matter's: without name parts and comparisons; without the citizen's origin
    and weak asides ("M7市都…了") unless nothing else is named. Cities are looked at only when no district
    or street is left (they would not be chosen anyway)."""
    kept: list[Jurisdiction] = []
    weak: list[Jurisdiction] = []
    for group in ([p for p in places if p.level != "city"], [p for p in places if p.level == "city"]):
        if kept:
            break
        for place in group:
            reason = aside_reason(text, place)
            if reason is None:
                kept.append(place)
            elif reason in ("origin", "aside"):
                weak.append(place)
    return kept or weak


def _city_of_district(name: str | None, gaz: Gazetteer) -> str | None:
    """The city of a district: ``B9市`` → ``B市`` (the anonymisation keeps the letter), ``商州区`` → ``商洛市``."""
    if not name:
        return None
    m = _ANON_RE.fullmatch(name)
    if m:
        return f"{m.group(1)}市"
    place = gaz.places.get(name)
    return place.parent if place is not None else None


def _with_city(place: Jurisdiction, gaz: Gazetteer) -> Jurisdiction:
    if place.level == "city":
        city: str | None = place.name
    elif place.level == "district":
        city = place.parent if place.source in ("anonymised", "cpca") else _city_of_district(place.name, gaz)
    elif place.parent:
        city = _city_of_district(place.parent, gaz)
    else:  # a street of unknown district: its city when all its districts share one
        cities = {_city_of_district(p, gaz) for p in gaz.parents_of(place.name)}
        city = cities.pop() if len(cities) == 1 else None
    return Jurisdiction(place.level, place.name, place.parent, place.matched, place.source, city)


def find_jurisdiction(
    text: str,
    *,
    default_city: str | None = None,
    gazetteer: Gazetteer | None = None,
    use_cpca: bool | None = None,
) -> Jurisdiction:
    """The place of the matter: the most specific place named in ``text`` that is not a comparison, a
    name part or (when another place is named) the citizen's origin; the default city when none is."""
    gaz = gazetteer or load_gazetteer()
    mentions = iter_places(text or "", gazetteer=gaz)
    places = _matter_places(text, mentions)
    districts = [p for p in places if p.level == "district"]
    streets = [p for p in places if p.level == "street"]
    if districts:
        district = _most_frequent(districts)
        # a street of that district counts even when named as the writer's home ("我是L3县荔溪乡人")
        candidates = streets or [
            p for p in mentions if p.level == "street" and aside_reason(text, p) in ("origin", "aside")
        ]
        own = [s for s in candidates if s.parent == district.name or district.name in gaz.parents_of(s.name)]
        if own:
            street = _most_frequent(own)
            found = Jurisdiction("street", street.name, district.name, street.matched, street.source)
            return _with_city(found, gaz)
        return _with_city(district, gaz)
    if streets:
        return _with_city(_most_frequent(streets), gaz)
    cities = [p for p in places if p.level == "city"]
    if cities:
        return _with_city(_most_frequent(cities), gaz)
    settings = get_lists_settings()
    if (settings.use_cpca if use_cpca is None else use_cpca) and text:
        found = _national_place(text)
        if found is not None:
            city = found.parent if found.level == "district" else found.name
            return Jurisdiction(found.level, found.name, found.parent, found.matched, found.source, city)
    city = default_city or settings.default_city or gaz.default_city
    return Jurisdiction("city", city, city=city)


_STREET_UNITS = {"街道办事处": ("街道",), "乡镇人民政府": ("镇", "乡")}


def place_at_level(jurisdiction: Jurisdiction, level: str, city: str, department: str | None = None) -> str:
    """The place of a unit working at ``level`` (the duty list's city / district / street) for the
    matter at ``jurisdiction``: the street (街道办事处 only at a 街道, 乡镇人民政府 only at a 镇/乡), else its
    district, else the matter's city; ``city`` (the default) only when the text names no city."""
    j = jurisdiction
    district = j.name if j.level == "district" else j.parent if j.level == "street" else None
    if level == "street" and j.level == "street":
        suffixes = _STREET_UNITS.get(department or "")
        if suffixes is None or j.name.endswith(suffixes):
            return j.full_name
    if level in ("street", "district") and district:
        return district
    return j.city or (j.name if j.level == "city" else None) or city


def route_label(department: str, jurisdiction: Jurisdiction | str | None) -> str:
    """``"A3区 住房和城乡建设局"``; a street with its district: ``"A3区洋湖街道 街道办事处"``."""
    if jurisdiction is None:
        return department
    place = jurisdiction if isinstance(jurisdiction, str) else jurisdiction.full_name
    return f"{place} {department}" if place else department


# --------------------------------------------------------------------------- gazetteer building


def candidate_streets(text: str, *, gazetteer: Gazetteer | None = None) -> list[tuple[str, str]]:
    """(street, district) pairs written together in ``text`` ("A3区洋湖街道", "商州区城关街道")."""
    gaz = gazetteer or load_gazetteer()
    places = _anonymised(text) + _real_places(_all_hits(text, _gazetteer_matcher(gaz)), gaz, short_names=False)
    districts = [p for p in places if p.level == "district"]
    return [(s.name, s.parent) for s in _streets_after(text, districts) if s.parent]


def build_street_gazetteer(
    texts_by_source: Mapping[str, Iterable[str]], *, min_count: int = 1
) -> list[StreetEntry]:
    """Streets seen right after a district, counted per (name, district).

    A name whose longer variant is only the same name with junk in front (是石门镇 / 石门镇) is
    dropped in favour of the shorter one when both are seen with the same district.
    """
    counts: Counter[tuple[str, str]] = Counter()
    sources: dict[tuple[str, str], set[str]] = {}
    gaz = load_gazetteer()
    for source, texts in texts_by_source.items():
        for text in texts:
            for pair in candidate_streets(text, gazetteer=gaz):
                counts[pair] += 1
                sources.setdefault(pair, set()).add(source)
    names_by_parent: dict[str, set[str]] = {}
    for name, parent in counts:
        names_by_parent.setdefault(parent, set()).add(name)
    out = []
    for (name, parent), n in counts.items():
        shorter = [o for o in names_by_parent[parent] if o != name and name.endswith(o)]
        if shorter or n < min_count:
            continue
        out.append(StreetEntry(name, parent, n, ",".join(sorted(sources[(name, parent)]))))
    return sorted(out, key=lambda e: (e.parent or "", -e.count, e.name))


def street_sources(exclude: Collection[tuple[str, str]] = ()) -> dict[str, list[str]]:
    """The texts streets are mined from: Teddy 附件4 (title, message, reply) and the Shangluo mailbox (title,
    letter, reply, agency), per source (``teddy_fj4``/``shangluo``); ``exclude`` drops rows by
    ``(source, id)``."""
    from minyi_nlp.data import load_source

    out: dict[str, list[str]] = {}
    for source, name, columns in (
        ("teddy_fj4", "teddy_fj4_replies", ("title", "content", "reply")),
        ("shangluo", "shangluo_mailbox", ("title", "content", "reply", "department")),
    ):
        frame = load_source(name).frame
        keep = [(source, str(i)) not in exclude for i in frame["id"]]
        parts = frame.loc[keep, list(columns)].fillna("").astype(str)
        out[source] = parts.agg(" ".join, axis=1).tolist()
    return out


def write_gazetteer(path: Path, streets: list[StreetEntry], *, version: str) -> Path:
    """Rewrite the ``streets`` section of ``gazetteer.yaml`` (header, places and default city kept)."""
    text = path.read_text(encoding="utf-8")
    head = text.split("\nstreets:", 1)[0]
    head = re.sub(r"(?m)^version: .*$", f'version: "{version}"', head)
    lines = [head.rstrip("\n"), "streets:"]
    for e in streets:
        lines.append(f"  - {{name: {e.name}, parent: {e.parent}, count: {e.count}, source: '{e.source}'}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _load_cached.cache_clear()
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m minyi_nlp.routing.jurisdiction [build-gazetteer VERSION | TEXT…]``."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["build-gazetteer"] and len(args) == 2:
        streets = build_street_gazetteer(street_sources())
        print(write_gazetteer(default_lists_dir() / GAZETTEER_FILE, streets, version=args[1]), len(streets))
        return 0
    for text in args:
        print(find_jurisdiction(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
