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
* optionally real national names through the ``cpca`` package when it is installed (full names with
  their 市/区/县 suffix only, and only when nothing above matched).

``find_jurisdiction`` picks the most specific level: the district named most often (ties: the first
named), then a street of that district, else a street alone, else the city named most often, else the
default city (``gazetteer.yaml`` ``default_city``, overridable with ``MINYI_DEFAULT_CITY``).
Spans refer to the text as given: normalise the text (``normalize_text``) before calling.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
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
    "route_label",
    "write_gazetteer",
]

GAZETTEER_FILE = "gazetteer.yaml"
_HAN = "\u4e00-\u9fff"
# Anonymised codes: letter, optional 1–2 digits, suffix; not preceded by an ASCII letter (a digit is
# fine: "…0000-00000000A7县住房保障局" is a phone number, then the unit).
_ANON_RE = re.compile(r"(?<![A-Za-z])([A-Z])(\d{1,2})?([市区县州])")
# A street/town name: 2–5 Han characters then 街道/镇/乡. 乡 must not start 乡村/乡镇… (a word, not a name).
_STREET_AFTER_RE = re.compile(rf"([{_HAN}]{{2,6}}?)(街道|镇|乡(?![村镇亲下土音]))")
# Words that make a 2–5 character "name" not a place name (城乡, 各乡镇, 到达各镇, 住房和城乡 …).
_NOT_A_NAME = re.compile(
    r"城乡|城镇|乡镇|县乡|之乡|家乡|故乡|返乡|小镇|古镇|重镇|[各某每的和及与到在给为是等]|"
    r"住房|局|政府|所有|部分|当地|基层|偏远|农村|贫困|重要|成立|第|包括|依据|背部|在职|创新|强化|加强|"
    r"选调|新设|城区|辖区|全县|全区|全市|境内|只有|医院|派|社区|村|以[东南西北]|一些|最大|少数|事业单位|下面"
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
        entries = self.streets.get(name, ())
        parents = Counter({e.parent: e.count for e in entries if e.parent})
        if not parents:
            return None
        (best, n), total = parents.most_common(1)[0], sum(parents.values())
        return best if len(parents) == 1 or n / total >= 0.8 else None

    def parents_of(self, name: str) -> frozenset[str]:
        return frozenset(e.parent for e in self.streets.get(name, ()) if e.parent)


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


def _alternation(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))


@lru_cache(maxsize=8)
def _place_regex(gaz: Gazetteer, short_names: bool) -> re.Pattern[str] | None:
    names = list(gaz.places)
    if short_names:
        names += list(gaz.alias_to_place)
    return re.compile(_alternation(names)) if names else None


@lru_cache(maxsize=8)
def _street_regex(gaz: Gazetteer) -> re.Pattern[str] | None:
    if not gaz.streets:
        return None
    # a name ending in 乡 must not be the start of 乡村/乡镇 … ("人民乡村振兴")
    return re.compile(rf"(?:{_alternation(gaz.streets)})(?!(?<=乡)[村镇亲下土音])")


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


def _real_places(text: str, gaz: Gazetteer, short_names: bool) -> list[Jurisdiction]:
    regex = _place_regex(gaz, short_names)
    if regex is None:
        return []
    out = []
    for m in regex.finditer(text):
        place = gaz.places[gaz.alias_to_place.get(m.group(0), m.group(0))]
        out.append(Jurisdiction(place.level, place.name, place.parent, m.span(), "gazetteer"))
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


def _gazetteer_streets(text: str, gaz: Gazetteer) -> list[Jurisdiction]:
    regex = _street_regex(gaz)
    if regex is None:
        return []
    return [
        Jurisdiction("street", m.group(0), gaz.street_parent(m.group(0)), m.span(), "gazetteer")
        for m in regex.finditer(text)
    ]


def _non_overlapping(items: list[Jurisdiction]) -> list[Jurisdiction]:
    """Keep the longest of overlapping matches; result sorted by position."""
    chosen: list[Jurisdiction] = []
    taken: list[tuple[int, int]] = []
    for item in sorted(items, key=lambda j: (-(j.matched[1] - j.matched[0]), j.matched[0])):  # type: ignore[index]
        s, e = item.matched  # type: ignore[misc]
        if all(e <= ts or s >= te for ts, te in taken):
            chosen.append(item)
            taken.append((s, e))
    return sorted(chosen, key=lambda j: j.matched[0])  # type: ignore[index]


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
    found = _anonymised(text) + _real_places(text, gaz, short_names)
    districts = [j for j in found if j.level == "district"]
    found += _streets_after(text, districts) + _gazetteer_streets(text, gaz)
    places = _non_overlapping(found)
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
    counts = Counter(j.name for j in items)
    best = max(counts.values())
    return next(j for j in items if counts[j.name] == best)


@lru_cache(maxsize=1)
def _cpca() -> Any:
    """The optional ``cpca`` module, or None when it is not installed (looked up once)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import cpca  # type: ignore[import-not-found]
    except Exception:  # absent or broken: no real-name lookup
        return None
    return cpca


def _cpca_place(text: str) -> Jurisdiction | None:
    """Real national names through ``cpca`` (optional): full names with suffix only; None on any problem."""
    module = _cpca()
    if module is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row = module.transform([text]).iloc[0]
    except Exception:  # a failing optional dependency must not stop routing
        return None

    def value(key: str) -> str | None:
        v = row.get(key)
        return v if isinstance(v, str) and v else None

    city, district = value("市"), value("区")
    for level, name, parent in (("district", district, city), ("city", city, None)):
        if name and name not in ("市辖区", "县") and name in text:
            start = text.index(name)
            return Jurisdiction(level, name, parent, (start, start + len(name)), "cpca")
    return None


def find_jurisdiction(
    text: str,
    *,
    default_city: str | None = None,
    gazetteer: Gazetteer | None = None,
    use_cpca: bool | None = None,
) -> Jurisdiction:
    """The most specific jurisdiction named in ``text``; the default city when none is named."""
    gaz = gazetteer or load_gazetteer()
    places = iter_places(text or "", gazetteer=gaz)
    districts = [p for p in places if p.level == "district"]
    streets = [p for p in places if p.level == "street"]
    if districts:
        district = _most_frequent(districts)
        own = [s for s in streets if s.parent == district.name or district.name in gaz.parents_of(s.name)]
        if own:
            street = _most_frequent(own)
            return Jurisdiction("street", street.name, district.name, street.matched, street.source)
        return district
    if streets:
        return _most_frequent(streets)
    cities = [p for p in places if p.level == "city"]
    if cities:
        return _most_frequent(cities)
    settings = get_lists_settings()
    if (settings.use_cpca if use_cpca is None else use_cpca) and text:
        found = _cpca_place(text)
        if found is not None:
            return found
    return Jurisdiction("city", default_city or settings.default_city or gaz.default_city)


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
    places = _anonymised(text) + _real_places(text, gaz, short_names=False)
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
        from minyi_nlp.routing.departments import load_shangluo, load_teddy_replies

        teddy = load_teddy_replies()
        shangluo = load_shangluo()
        streets = build_street_gazetteer(
            {
                "teddy_fj4": (teddy["留言主题"] + " " + teddy["留言详情"] + " " + teddy["答复意见"]).tolist(),
                "shangluo": (
                    shangluo["title"]
                    + " "
                    + shangluo["query"]
                    + " "
                    + shangluo["reply"]
                    + " "
                    + shangluo["reply_agency"]
                ).tolist(),
            }
        )
        print(write_gazetteer(default_lists_dir() / GAZETTEER_FILE, streets, version=args[1]), len(streets))
        return 0
    for text in args:
        print(find_jurisdiction(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
