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

All names are looked up in one pass per table with an Aho-Corasick automaton (ahocorasick-rs); the gazetteer's
also finds the anonymised codes (every code with ASCII digits is one of its patterns).

``find_jurisdiction`` picks the most specific level: the district named most often (ties: the first
named), then a street of that district, else a street alone, else the city named most often, else the
default city (``gazetteer.yaml`` ``default_city``, overridable with ``MINYI_DEFAULT_CITY``).
Spans refer to the text as given: normalise the text (``normalize_text``) before calling.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
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
    return parse_gazetteer(Path(path))


def parse_gazetteer(path: Path) -> Gazetteer:
    """Read and validate a ``gazetteer.yaml`` (not cached: what ``minyi lists check`` reads)."""
    return _parse_gazetteer(read_yaml(path))


def load_gazetteer(directory: Path | None = None) -> Gazetteer:
    """Load ``gazetteer.yaml`` from the lists folder (``MINYI_LISTS_DIR`` or packaged); cached."""
    folder = Path(directory) if directory is not None else default_lists_dir()
    return _load_cached(str((folder / GAZETTEER_FILE).resolve()))


load_gazetteer.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- matching


_PLACE, _ALIAS, _STREET = 0, 1, 2  # payload kinds in the gazetteer automaton
# A mention while matching: (start, end, level, name, parent, source); a Jurisdiction is built only for
# what is returned (building the frozen dataclass costs more than finding most mentions).
_Mention = tuple[int, int, str, str, str | None, str]
_SPAN = itemgetter(0, 1)
_ASCII_LETTERS = frozenset(string.ascii_letters)
# a street name ending in 乡 must not be the start of 乡村/乡镇 … ("人民乡村振兴")
_NOT_AFTER_XIANG = frozenset("村镇亲下土音")


@dataclass(frozen=True)
class _Matcher:
    """An Aho-Corasick automaton (ahocorasick-rs, DFA) over names, with each name's payloads; the gazetteer's
    also finds the anonymised codes (patterns after the names) and any non-ASCII decimal digit (after them)."""

    automaton: Any
    payloads: tuple[tuple[tuple[int, str], ...], ...]  # per name pattern: (kind, canonical name)
    codes: tuple[tuple[str, str, str | None, str] | None, ...] = ()  # per code pattern: see _anon_code


def _matcher(
    entries: Mapping[str, list[tuple[int, str]]], codes: Collection[str] = (), more: Collection[str] = ()
) -> _Matcher | None:
    """The automaton over ``entries``' names, then ``codes`` (anonymised codes), then ``more`` patterns."""
    if not entries and not codes:
        return None
    import ahocorasick_rs

    names = list(entries)
    patterns = [*names, *codes, *more]
    automaton = ahocorasick_rs.AhoCorasick(patterns, implementation=ahocorasick_rs.Implementation.DFA)
    return _Matcher(automaton, tuple(tuple(entries[n]) for n in names), tuple(_anon_code(c) for c in codes))


def _anon_codes() -> list[str]:
    """Every code ``_ANON_RE`` matches with ASCII digits: ``A市`` … ``Z99州``."""
    digits = ["", *(str(i) for i in range(10)), *(f"{i:02d}" for i in range(100))]
    return [f"{letter}{d}{suffix}" for letter in string.ascii_uppercase for d in digits for suffix in "市区县州"]


_LAST_DIGIT_PLANE_END = 0x20000  # Unicode decimal digits are in planes 0 and 1 (checked by a test)


def _non_ascii_digits() -> list[str]:
    """The characters other than 0–9 that ``\\d`` matches (Unicode decimal digits: ٣, ３ …)."""
    return list(filter(str.isdecimal, map(chr, range(0x80, _LAST_DIGIT_PLANE_END))))


@lru_cache(maxsize=8)
def _gazetteer_matcher(gaz: Gazetteer) -> _Matcher | None:
    """One automaton over every gazetteer name (places, their aliases and streets) and every anonymised code;
    a non-ASCII digit is found too (a code written with one is left to ``_ANON_RE``)."""
    entries: dict[str, list[tuple[int, str]]] = {}
    for name in gaz.places:
        entries.setdefault(name, []).append((_PLACE, name))
    for alias, name in gaz.alias_to_place.items():
        entries.setdefault(alias, []).append((_ALIAS, name))
    for name in gaz.streets:
        entries.setdefault(name, []).append((_STREET, name))
    return _matcher(entries, _anon_codes(), _non_ascii_digits())


def _all_hits(text: str, matcher: _Matcher | None) -> list[tuple[int, int, int, str]]:
    """Every (overlapping) name in ``text`` as ``(start, end, kind, canonical)``, in one automaton pass."""
    if matcher is None:
        return []
    hits = []
    payloads = matcher.payloads
    for index, start, end in matcher.automaton.find_matches_as_indexes(text, overlapping=True):
        if index >= len(payloads):
            continue  # an anonymised code or a digit
        for kind, name in payloads[index]:
            if kind == _STREET and text[end - 1] == "乡" and text[end : end + 1] in _NOT_AFTER_XIANG:
                continue
            hits.append((start, end, kind, name))
    return hits


def _scan(text: str, gaz: Gazetteer) -> tuple[list[_Mention], list[tuple[int, int, int, str]]]:
    """``(_anon_mentions(text), _all_hits(text, gazetteer matcher))`` in one automaton pass."""
    matcher = _gazetteer_matcher(gaz)
    if matcher is None:
        return _anon_mentions(text), []
    payloads, codes = matcher.payloads, matcher.codes
    first_code = len(payloads)
    first_digit = first_code + len(codes)
    anon: list[_Mention] = []
    hits = []
    for index, start, end in matcher.automaton.find_matches_as_indexes(text, overlapping=True):
        if index >= first_code:
            if index >= first_digit:  # a code may have this digit: the regex finds them all
                return _anon_mentions(text), _all_hits(text, matcher)
            if start and text[start - 1] in _ASCII_LETTERS:
                continue  # "AB3区": not a code (the lookbehind of _ANON_RE)
            info = codes[index - first_code]
            if info is not None:
                anon.append((start, end) + info)
            continue
        for kind, name in payloads[index]:
            if kind == _STREET and text[end - 1] == "乡" and text[end : end + 1] in _NOT_AFTER_XIANG:
                continue
            hits.append((start, end, kind, name))
    return anon, hits


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


@lru_cache(maxsize=8192)
def _clean_street_name(raw: str) -> str | None:
    """A street name from a candidate ("县涛圩镇" → "涛圩镇"), or None if it is not a name."""
    name = raw.lstrip("县市区")
    stem = re.sub(r"(街道|镇|乡)$", "", name)
    if len(stem) < 2 or _NOT_A_NAME.search(stem) or _BAD_ENDING.search(name) or re.fullmatch(r"(.+)\1", name):
        return None
    return name


def _anon_code(code: str) -> tuple[str, str, str | None, str] | None:
    """``(level, code, parent, "anonymised")`` for a code matched by ``_ANON_RE``; None for ``B区``."""
    letter, suffix, digits = code[0], code[-1], len(code) > 2
    if suffix == "区" and not digits:
        return None  # "B区": a block of a housing estate
    if suffix == "州" or (suffix == "市" and not digits):
        return ("city", code, None, "anonymised")
    return ("district", code, f"{letter}市", "anonymised")


def _anon_mentions(text: str) -> list[_Mention]:
    out = []
    for m in _ANON_RE.finditer(text):
        info = _anon_code(m[0])
        if info is not None:
            out.append(m.span() + info)
    return out


_PLACE_KINDS = frozenset((_PLACE,))
_ALIAS_KINDS = frozenset((_PLACE, _ALIAS))
_STREET_KINDS = frozenset((_STREET,))


def _real_mentions(hits: list[tuple[int, int, int, str]], gaz: Gazetteer, short_names: bool) -> list[_Mention]:
    out: list[_Mention] = []
    for start, end, name in _leftmost_longest(hits, _ALIAS_KINDS if short_names else _PLACE_KINDS):
        place = gaz.places[name]
        out.append((start, end, place.level, place.name, place.parent, "gazetteer"))
    return out


def _streets_after_mentions(text: str, found: list[_Mention]) -> list[_Mention]:
    """Well-formed street names written right after each district of ``found``."""
    out: list[_Mention] = []
    for _, end, level, district, _, _ in found:
        if level != "district":
            continue
        m = _STREET_AFTER_RE.match(text, end)
        if m:
            name = _clean_street_name(m[0])
            if name:
                out.append((m.end() - len(name), m.end(), "street", name, district, "street_pattern"))
    return out


def _span(j: Jurisdiction) -> tuple[int, int]:
    assert j.matched is not None
    return j.matched


def _non_overlapping(items: list[_Mention], size: int) -> list[_Mention]:
    """Keep the longest of overlapping matches (ties: the first); result sorted by position."""
    items.sort(key=_SPAN)  # stable: of equal spans the first found comes first
    previous_end = -1
    for start, end, *_ in items:
        if start < previous_end:
            break
        previous_end = end
    else:
        return items  # the usual case: nothing overlaps
    taken = bytearray(size)
    chosen: list[_Mention] = []
    for item in sorted(items, key=lambda j: (j[0] - j[1], j[0])):
        s, e = item[0], item[1]
        if taken.find(1, s, e) < 0:
            chosen.append(item)
            taken[s:e] = b"\x01" * (e - s)
    return sorted(chosen, key=_SPAN)


def _mentions(text: str, gaz: Gazetteer, short_names: bool) -> list[_Mention]:
    """What ``iter_places`` returns, as tuples."""
    found, hits = _scan(text, gaz)
    if hits:
        found += _real_mentions(hits, gaz, short_names)
    streets = _streets_after_mentions(text, found)
    if hits:
        for start, end, name in _leftmost_longest(hits, _STREET_KINDS):
            streets.append((start, end, "street", name, _street_parent(gaz, name), "gazetteer"))
    if not (hits or streets):
        return found  # anonymised codes only: in order, and they cannot overlap
    found += streets
    places = _non_overlapping(found, len(text))
    if not streets:
        return places
    # a street right after its district inherits it even when the gazetteer name is ambiguous
    prev: _Mention | None = None
    for i, cur in enumerate(places):
        if (
            cur[2] == "street"
            and prev is not None
            and prev[2] == "district"
            and prev[1] == cur[0]
            and cur[4] != prev[3]
        ):
            places[i] = (cur[0], cur[1], "street", cur[3], prev[3], cur[5])
        prev = cur
    return places


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
    return [Jurisdiction(lv, nm, pa, (s, e), src) for s, e, lv, nm, pa, src in _mentions(text, gaz, short_names)]


def _most_frequent(items: list[_Mention]) -> _Mention:
    """The most frequent name (ties: the first named); returns its first mention."""
    if len(items) == 1:
        return items[0]
    counts: dict[str, int] = {}
    for j in items:
        counts[j[3]] = counts.get(j[3], 0) + 1
    if len(counts) == 1:
        return items[0]
    best = max(counts.values())
    return next(j for j in items if counts[j[3]] == best)


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
# (the lookbehind of 像 comes after it, so that every branch starts with a character: 2.5x faster)
_COMPARE_BEFORE = re.compile(
    r"(?:比起?|不像|不如|像(?<![好就图想录影]像)|对比|相比|参照|参考|借鉴|效仿|羡慕|人家)"
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


# Any of the patterns after a mention in one match (the patterns before it search faster one by one;
# _ALIKE_BEFORE alone is no reason)
_ANY_AFTER = re.compile("|".join(f"(?:{p.pattern})" for p in (_COMPARE_AFTER, _ALIKE_AFTER, _ASIDE_AFTER, _HOME_AFTER)))


def _aside(text: str, place: _Mention, width: int = 8) -> str | None:
    """``aside_reason`` for a mention."""
    start, end, level, _, _, source = place
    if level == "district" and source == "anonymised" and _NAME_PART_AFTER.match(text, end):
        return "name part"
    before, after = text[start - width if start > width else 0 : start], text[end : end + width]
    if not (_ANY_AFTER.match(after) or _COMPARE_BEFORE.search(before) or _HOME_BEFORE.search(before)):
        return None  # the usual case
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


def aside_reason(text: str, place: Jurisdiction) -> str | None:
    """Why a mention is not (or, for ``origin``/``aside``, only as a last resort) the matter's place:
    ``name part``, ``comparison``, ``origin``, ``aside``; None for an ordinary mention."""
    return _aside(text, (*_span(place), place.level, place.name, place.parent, place.source))


@lru_cache(maxsize=4096)
def _city_of_district(name: str | None, gaz: Gazetteer) -> str | None:
    """The city of a district: ``B9市`` → ``B市`` (the anonymisation keeps the letter), ``商州区`` → ``商洛市``."""
    if not name:
        return None
    m = _ANON_RE.fullmatch(name)
    if m:
        return f"{m.group(1)}市"
    place = gaz.places.get(name)
    return place.parent if place is not None else None


@lru_cache(maxsize=4096)
def _parents_of(gaz: Gazetteer, name: str) -> frozenset[str]:
    return gaz.parents_of(name)


def _with_city(place: _Mention, gaz: Gazetteer, parent: str | None = None) -> Jurisdiction:
    """The mention as a Jurisdiction with its city (and ``parent`` instead of its own when given)."""
    start, end, level, name, own_parent, source = place
    parent = parent or own_parent
    city: str | None
    if level == "city":
        city = name
    elif level == "district":
        city = parent if source in ("anonymised", "cpca") else _city_of_district(name, gaz)
    elif parent:
        city = _city_of_district(parent, gaz)
    else:  # a street of unknown district: its city when all its districts share one
        cities = {_city_of_district(p, gaz) for p in _parents_of(gaz, name)}
        city = cities.pop() if len(cities) == 1 else None
    return Jurisdiction(level, name, parent, (start, end), source, city)


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
    # Places that can be the matter's: without name parts and comparisons; without the citizen's origin
    # and weak asides ("M7市都…了") unless nothing else is named. Cities are looked at only when no district
    # or street is left (they would not be chosen anyway).
    districts: list[_Mention] = []
    streets: list[_Mention] = []
    weak_districts: list[_Mention] = []
    weak_streets: list[_Mention] = []
    cities: list[_Mention] = []
    for place in _mentions(text, gaz, False) if text else ():
        level = place[2]
        if level == "city":
            cities.append(place)
            continue
        reason = _aside(text, place)
        if reason is None:
            (districts if level == "district" else streets).append(place)
        elif reason in ("origin", "aside"):
            (weak_districts if level == "district" else weak_streets).append(place)
    if not (districts or streets):
        kept: list[_Mention] = []
        weak_cities: list[_Mention] = []
        for place in cities:
            reason = _aside(text, place)
            if reason is None:
                kept.append(place)
            elif reason in ("origin", "aside"):
                weak_cities.append(place)
        if kept:
            return _with_city(_most_frequent(kept), gaz)
        districts, streets, cities = weak_districts, weak_streets, weak_cities
    if districts:
        district = _most_frequent(districts)
        name = district[3]
        # a street of that district counts even when named as the writer's home ("我是L3县荔溪乡人")
        own = [s for s in streets or weak_streets if s[4] == name or name in _parents_of(gaz, s[3])]
        if own:
            return _with_city(_most_frequent(own), gaz, parent=name)
        return _with_city(district, gaz)
    if streets:
        return _with_city(_most_frequent(streets), gaz)
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
    found, hits = _scan(text, gaz)
    found += _real_mentions(hits, gaz, False)
    return [(name, parent) for _, _, _, name, parent, _ in _streets_after_mentions(text, found) if parent]


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
