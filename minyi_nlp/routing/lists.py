"""The three routing lists as versioned data: 事项清单 (taxonomy), 职责清单 (duty), 实施清单 (SLA).

The lists live as YAML files in ``minyi_nlp/resources/lists/`` (or in the folder named by
``MINYI_LISTS_DIR``, so an administrator can swap them without touching code):

* ``taxonomy.yaml``    — 一级/二级/三级 categories (generated once from Teddy Cup 附件1),
* ``departments.yaml`` — the department-type vocabulary (canonical name, kind, aliases, patterns),
* ``duty.yaml``        — category → responsible department types with weight and jurisdiction level,
* ``sla.yaml``         — category → handling deadline in working days (hours when urgent), the time
                         zone, local holidays and make-up days on top of the national calendar,
* ``gazetteer.yaml``   — place names for jurisdiction extraction (read by ``routing.jurisdiction``).

Loading validates every entry and raises :class:`ListsError` naming the file, the entry and the field.
A category key is ``"一级"``, ``"一级/二级"`` or ``"一级/二级/三级"``; lookups use the most specific key
present (a more specific entry replaces, not merges with, the broader one).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "KINDS",
    "LEVELS",
    "CalendarError",
    "Category",
    "DepartmentType",
    "DutyEntry",
    "ListsError",
    "ListsSettings",
    "RoutingLists",
    "Sla",
    "WorkCalendar",
    "build_taxonomy_yaml",
    "default_lists_dir",
    "get_lists_settings",
    "load_lists",
    "national_years",
    "parse_lists",
    "read_taxonomy_excel",
    "read_yaml",
]

Level = Literal["city", "district", "street"]
LEVELS: tuple[str, ...] = ("city", "district", "street")
# line: functional bureau; street: 街道/乡镇/村居 territorial unit; generic: government office,
# party committee or the online-appeal office (a routing level, not a function); enterprise: public
# utility or state-owned service company; judicial: courts and procuratorates; other: mass organisations.
KINDS: tuple[str, ...] = ("line", "street", "generic", "enterprise", "judicial", "other")
SEP = "/"
DEFAULT_TIMEZONE = "Asia/Shanghai"
FILES = {
    "taxonomy": "taxonomy.yaml",
    "departments": "departments.yaml",
    "duty": "duty.yaml",
    "sla": "sla.yaml",
}


# libyaml's safe loader when available (about 10x faster), else the pure-Python one
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ListsError(ValueError):
    """A routing list file is missing or invalid; the message names file, entry and field."""


class ListsSettings(BaseSettings):
    """Where the lists live and the default city; ``MINYI_LISTS_DIR`` / ``MINYI_DEFAULT_CITY``."""

    model_config = SettingsConfigDict(env_prefix="MINYI_", extra="ignore")

    lists_dir: Path | None = None
    default_city: str | None = None  # overrides gazetteer.yaml's default_city when set
    use_cpca: bool = True  # use the optional ``cpca`` package for real place names when installed


@lru_cache(maxsize=1)
def get_lists_settings() -> ListsSettings:
    """Process-wide list settings (cached; ``get_lists_settings.cache_clear()`` in tests)."""
    return ListsSettings()


def default_lists_dir() -> Path:
    """``MINYI_LISTS_DIR`` when set, else the packaged ``resources/lists``."""
    configured = get_lists_settings().lists_dir
    if configured is not None:
        return Path(configured)
    from minyi_nlp.config import RESOURCES_DIR

    return RESOURCES_DIR / "lists"


# --------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class Category:
    """One 事项清单 item: 一级/二级/三级."""

    l1: str
    l2: str
    l3: str

    @property
    def key(self) -> str:
        return SEP.join((self.l1, self.l2, self.l3))


@dataclass(frozen=True)
class DepartmentType:
    """One entry of the department-type vocabulary (``departments.yaml``)."""

    name: str
    kind: str
    generic: bool
    level: str | None = None  # default level when the raw name carries no place
    aliases: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    level_variants: tuple[tuple[str, str], ...] = ()  # (level, department) when a place changes the type
    topics: tuple[str, ...] = ()  # domain words of "感谢您对XX工作的关心"
    description: str = ""


@dataclass(frozen=True)
class DutyEntry:
    """A responsible department type for a category, with a weight and the handling level."""

    department: str
    weight: float
    level: str


@dataclass(frozen=True)
class Sla:
    """Handling deadline (working days) and urgency of a category; ``urgent_hours`` overrides the
    list's default deadline in hours for an appeal flagged urgent."""

    working_days: int
    urgent: bool = False
    urgent_hours: float | None = None


class CalendarError(ValueError):
    """A date outside every holiday calendar the lists know: never counted as an ordinary day."""


@dataclass(frozen=True)
class WorkCalendar:
    """Working days: the national calendar of ``chinese-calendar`` (official holidays and make-up days
    调休), plus local holidays and make-up days from ``sla.yaml``; ``local_years`` are years beyond the
    package whose whole calendar ``sla.yaml`` lists (Mon–Fri apart from those dates)."""

    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    local_years: frozenset[int] = frozenset()

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day; :class:`CalendarError` for a year no calendar covers."""
        if day in self.extra_workdays:
            return True
        if day in self.holidays:
            return False
        first, last = national_years()
        if first <= day.year <= last:
            return _national_workday(day)
        if day.year in self.local_years:
            return day.weekday() < 5
        raise CalendarError(
            f"no holiday calendar for {day.isoformat()}: chinese-calendar covers {first}-{last}; add the "
            f"official holidays and make-up days of {day.year} to sla.yaml (holidays, extra_workdays) and "
            f"list {day.year} under local_years, or upgrade chinese-calendar"
        )

    def covered_until(self) -> date:
        """The last day of the calendar without a gap: the national one, then the ``local_years`` right after it
        (a year listed after a missing one does not count: the missing year stops every deadline first)."""
        last = national_years()[1]
        while last + 1 in self.local_years:
            last += 1
        return date(last, 12, 31)


@lru_cache(maxsize=1)
def national_years() -> tuple[int, int]:
    """First and last year of the installed ``chinese-calendar`` (its holiday table)."""
    from chinese_calendar import constants

    years = [d.year for d in constants.holidays]
    return min(years), max(years)


@lru_cache(maxsize=4096)
def _national_workday(day: date) -> bool:
    import chinese_calendar

    return bool(chinese_calendar.is_workday(day))


@dataclass(frozen=True, eq=False)
class RoutingLists:
    """The loaded, validated lists. Hash/equality by identity (safe as a cache key)."""

    version: str
    taxonomy: tuple[Category, ...]
    departments: Mapping[str, DepartmentType]
    duty: dict[str, list[DutyEntry]]
    sla: dict[str, Sla]
    default_sla: Sla = Sla(5, False)
    holidays: frozenset[date] = frozenset()  # local, on top of the national calendar
    extra_workdays: frozenset[date] = frozenset()  # local make-up days
    versions: Mapping[str, str] = field(default_factory=dict)
    directory: Path | None = None
    local_years: frozenset[int] = frozenset()
    timezone: str = DEFAULT_TIMEZONE
    urgent_hours: float = 2.0
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar(self.holidays, self.extra_workdays, self.local_years)

    @property
    def l1_categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.l1 for c in self.taxonomy))

    @cached_property
    def category_keys(self) -> frozenset[str]:
        """Every valid key: ``l1``, ``l1/l2`` and ``l1/l2/l3`` (kept on the lists: the shared cache keys on the
        whole taxonomy, whose hash alone costs ≈ 50 µs, and every look-up of a key asks for it)."""
        return _category_keys(self.taxonomy)

    def resolve(self, category: str | Iterable[str]) -> tuple[str, ...]:
        """Split a category (``"城乡建设/住房保障与房地产"`` or a tuple) and check it exists."""
        parts = tuple(p.strip() for p in (category.split(SEP) if isinstance(category, str) else category))
        parts = tuple(p for p in parts if p)
        if not parts or len(parts) > 3 or SEP.join(parts) not in self.category_keys:
            raise KeyError(f"unknown category {category!r} (not in taxonomy version {self.version})")
        return parts

    def _most_specific(self, category: str | Iterable[str], table: Mapping[str, Any]) -> str | None:
        parts = self.resolve(category)
        for n in range(len(parts), 0, -1):
            key = SEP.join(parts[:n])
            if key in table:
                return key
        return None

    def _memoised(self, kind: str, category: str | Iterable[str], compute: Any) -> Any:
        """``compute(category)`` cached on this object by ``(kind, category path)``; errors are not cached."""
        path = category if isinstance(category, str) else SEP.join(category)
        key = (kind, path)
        if key not in self._memo:
            self._memo[key] = compute(category)
        return self._memo[key]

    def _duty_of(self, category: str | Iterable[str]) -> tuple[DutyEntry, ...]:
        key = self._most_specific(category, self.duty)
        if key is None:  # cannot happen for a validated list (every 一级 is covered)
            raise KeyError(f"no duty entry for {category!r}")
        entries = self.duty[key]
        total = sum(e.weight for e in entries)
        return tuple(DutyEntry(e.department, e.weight / total, e.level) for e in entries)

    def departments_for(self, category: str | Iterable[str]) -> list[DutyEntry]:
        """Duty entries of the most specific listed key, weights normalised to P(department|category)
        (memoised per category path)."""
        return list(self._memoised("duty", category, self._duty_of))

    def _sla_of(self, category: str | Iterable[str]) -> Sla:
        key = self._most_specific(category, self.sla)
        return self.sla[key] if key is not None else self.default_sla

    def sla_for(self, category: str | Iterable[str]) -> Sla:
        """SLA of the most specific listed key, else the default (memoised per category path)."""
        return self._memoised("sla", category, self._sla_of)  # type: ignore[no-any-return]

    def is_working_day(self, day: date) -> bool:
        """National calendar (chinese-calendar) with sla.yaml's local days; :class:`CalendarError` beyond it."""
        return self.calendar.is_working_day(day)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """``start`` moved forward by ``days`` working days (same time of day, same tzinfo)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        calendar = self.calendar
        current = start
        while days > 0:
            current += timedelta(days=1)
            if calendar.is_working_day(current.date()):
                days -= 1
        return current

    def localize(self, moment: datetime) -> datetime:
        """``moment`` in the lists' time zone; a naive datetime is taken as local time there."""
        zone = ZoneInfo(self.timezone)
        return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)

    def due_at(self, category: str | Iterable[str], received_at: datetime, urgent: bool = False) -> datetime:
        """Time-zone-aware deadline of an appeal of ``category`` received at ``received_at``: ``urgent``
        (the appeal is flagged urgent) → that many hours later (the category's ``urgent_hours``, else the
        list's), else the category's working days later (weekends, holidays and make-up days counted)."""
        sla = self.sla_for(category)
        start = self.localize(received_at)
        if urgent:
            return start + timedelta(hours=sla.urgent_hours or self.urgent_hours)
        return self.add_working_days(start, sla.working_days)


@lru_cache(maxsize=8)
def _category_keys(taxonomy: tuple[Category, ...]) -> frozenset[str]:
    keys: set[str] = set()
    for c in taxonomy:
        keys.update((c.l1, SEP.join((c.l1, c.l2)), c.key))
    return frozenset(keys)


# --------------------------------------------------------------------------- validation helpers


def _fail(file: str, entry: str, fld: str, problem: str) -> ListsError:
    return ListsError(f"{file}: entry {entry}: field '{fld}': {problem}")


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; :class:`ListsError` if missing, malformed or not a mapping."""
    if not path.is_file():
        raise ListsError(f"{path}: file not found (expected in {path.parent})")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise ListsError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ListsError(f"{path.name}: top level must be a mapping")
    return data


def _version(data: Mapping[str, Any], file: str) -> str:
    value = data.get("version")
    if not isinstance(value, str) or not value.strip():
        raise _fail(file, "(top level)", "version", f"must be a non-empty quoted string, got {value!r}")
    return value.strip()


def _section(data: Mapping[str, Any], file: str, name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        raise _fail(file, "(top level)", name, f"must be a {kind.__name__}, got {type(value).__name__}")
    return value


def _positive_number(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def _as_date(value: Any, file: str, entry: str, fld: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise _fail(file, entry, fld, f"not an ISO date: {value!r}") from exc


# --------------------------------------------------------------------------- parsers


def _parse_taxonomy(data: Mapping[str, Any], file: str) -> tuple[Category, ...]:
    tree = _section(data, file, "categories", dict)
    out: list[Category] = []
    for l1, l2s in tree.items():
        if not isinstance(l2s, dict) or not l2s:
            raise _fail(file, f"categories[{l1!r}]", "二级", "must be a non-empty mapping 二级 → [三级]")
        for l2, l3s in l2s.items():
            where = f"categories[{l1!r}][{l2!r}]"
            if not isinstance(l3s, list) or not l3s or not all(isinstance(x, str) and x for x in l3s):
                raise _fail(file, where, "三级", "must be a non-empty list of names")
            if len(set(l3s)) != len(l3s):
                raise _fail(file, where, "三级", "duplicate 三级 name")
            for name in (l1, l2, *l3s):
                if not isinstance(name, str) or SEP in name:
                    raise _fail(file, where, "name", f"{name!r} must be a string without {SEP!r}")
            out.extend(Category(str(l1), str(l2), l3) for l3 in l3s)
    if not out:
        raise _fail(file, "(top level)", "categories", "is empty")
    return tuple(out)


def _str_list(value: Any, file: str, entry: str, fld: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(x, str) and x for x in value):
        raise _fail(file, entry, fld, "must be a list of non-empty strings")
    return tuple(value)


def _parse_department(raw: Any, file: str, index: int) -> DepartmentType:
    if not isinstance(raw, dict):
        raise _fail(file, f"departments[{index}]", "(entry)", "must be a mapping")
    name = raw.get("name")
    entry = f"departments[{index}] ({name})"
    if not isinstance(name, str) or not name:
        raise _fail(file, entry, "name", "must be a non-empty string")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _fail(file, entry, "kind", f"{kind!r} not in {list(KINDS)}")
    generic = raw.get("generic", False)
    if not isinstance(generic, bool):
        raise _fail(file, entry, "generic", f"must be true/false, got {generic!r}")
    level = raw.get("level")
    if level is not None and level not in LEVELS:
        raise _fail(file, entry, "level", f"{level!r} not in {list(LEVELS)}")
    aliases = _str_list(raw.get("aliases"), file, entry, "aliases")
    patterns = _str_list(raw.get("patterns"), file, entry, "patterns")
    if not aliases and not patterns:
        raise _fail(file, entry, "aliases", "needs at least one alias or pattern")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail(file, entry, "patterns", f"bad regex {pattern!r}: {exc}") from exc
    variants = raw.get("level_variants") or {}
    if not isinstance(variants, dict) or any(k not in LEVELS for k in variants):
        raise _fail(file, entry, "level_variants", f"must map a level in {list(LEVELS)} to a department")
    return DepartmentType(
        name=name,
        kind=kind,
        generic=generic,
        level=level,
        aliases=aliases,
        patterns=patterns,
        level_variants=tuple((str(k), str(v)) for k, v in variants.items()),
        topics=_str_list(raw.get("topics"), file, entry, "topics"),
        description=str(raw.get("description") or ""),
    )


def _parse_departments(data: Mapping[str, Any], file: str) -> dict[str, DepartmentType]:
    items = _section(data, file, "departments", list)
    out: dict[str, DepartmentType] = {}
    owners: dict[tuple[str, str], str] = {}
    for i, raw in enumerate(items):
        dept = _parse_department(raw, file, i)
        entry = f"departments[{i}] ({dept.name})"
        if dept.name in out:
            raise _fail(file, entry, "name", "duplicate department name")
        for fld, words in (("aliases", dept.aliases), ("topics", dept.topics)):
            for word in words:
                if (fld, word) in owners:
                    raise _fail(file, entry, fld, f"{word!r} already used by {owners[(fld, word)]}")
                owners[(fld, word)] = dept.name
        out[dept.name] = dept
    for dept in out.values():
        for level, target in dept.level_variants:
            if target not in out:
                raise _fail(
                    file, f"({dept.name})", "level_variants", f"{level}: unknown department {target!r}"
                )
    return out


def _check_category(key: Any, keys: frozenset[str], file: str, section: str) -> str:
    if not isinstance(key, str) or key not in keys:
        raise _fail(file, f"{section}[{key!r}]", "category", f"unknown category {key!r} (not in taxonomy)")
    return key


def _parse_duty(
    data: Mapping[str, Any], file: str, keys: frozenset[str], departments: Mapping[str, DepartmentType]
) -> dict[str, list[DutyEntry]]:
    table = _section(data, file, "duty", dict)
    out: dict[str, list[DutyEntry]] = {}
    for key, entries in table.items():
        _check_category(key, keys, file, "duty")
        if not isinstance(entries, list) or not entries:
            raise _fail(file, f"duty[{key!r}]", "(entries)", "must be a non-empty list")
        parsed: list[DutyEntry] = []
        for i, raw in enumerate(entries):
            entry = f"duty[{key!r}][{i}]"
            if not isinstance(raw, dict):
                raise _fail(file, entry, "(entry)", "must be a mapping with department, weight, level")
            dept, weight, level = raw.get("department"), raw.get("weight", 1), raw.get("level")
            if dept not in departments:
                raise _fail(
                    file, entry, "department", f"unknown department type {dept!r} (not in departments.yaml)"
                )
            if not _positive_number(weight):
                raise _fail(file, entry, "weight", f"must be a positive number, got {weight!r}")
            if level not in LEVELS:
                raise _fail(file, entry, "level", f"{level!r} not in {list(LEVELS)}")
            parsed.append(DutyEntry(str(dept), float(weight), str(level)))
        out[key] = parsed
    return out


def _hours(value: Any, file: str, entry: str) -> float | None:
    if value is None:
        return None
    if not _positive_number(value):
        raise _fail(file, entry, "urgent_hours", f"must be a positive number of hours, got {value!r}")
    return float(value)


def _parse_sla_value(raw: Any, file: str, entry: str) -> Sla:
    if not isinstance(raw, dict):
        raise _fail(file, entry, "(entry)", "must be a mapping with working_days and urgent")
    days, urgent = raw.get("working_days"), raw.get("urgent", False)
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise _fail(file, entry, "working_days", f"must be a positive integer, got {days!r}")
    if not isinstance(urgent, bool):
        raise _fail(file, entry, "urgent", f"must be true/false, got {urgent!r}")
    return Sla(days, urgent, _hours(raw.get("urgent_hours"), file, entry))


@dataclass(frozen=True)
class _SlaFile:
    default: Sla
    table: dict[str, Sla]
    holidays: frozenset[date]
    workdays: frozenset[date]
    local_years: frozenset[int]
    timezone: str
    urgent_hours: float


def _parse_sla(data: Mapping[str, Any], file: str, keys: frozenset[str]) -> _SlaFile:
    default = _parse_sla_value(data.get("default"), file, "default")
    table = _section(data, file, "sla", dict)
    out = {
        _check_category(k, keys, file, "sla"): _parse_sla_value(v, file, f"sla[{k!r}]")
        for k, v in table.items()
    }
    holidays = frozenset(
        _as_date(v, file, f"holidays[{i}]", "date") for i, v in enumerate(data.get("holidays") or [])
    )
    workdays = frozenset(
        _as_date(v, file, f"extra_workdays[{i}]", "date")
        for i, v in enumerate(data.get("extra_workdays") or [])
    )
    years = data.get("local_years") or []
    if not isinstance(years, list) or not all(isinstance(y, int) and not isinstance(y, bool) for y in years):
        raise _fail(file, "(top level)", "local_years", f"must be a list of years, got {years!r}")
    timezone = data.get("timezone", DEFAULT_TIMEZONE)
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _fail(file, "(top level)", "timezone", f"unknown time zone {timezone!r}") from exc
    hours = _hours(data.get("urgent_hours", 2), file, "(top level)")
    assert hours is not None
    return _SlaFile(default, out, holidays, workdays, frozenset(years), str(timezone), hours)


# --------------------------------------------------------------------------- loading


def parse_lists(directory: Path) -> RoutingLists:
    """Read and validate the four list files in ``directory`` (uncached)."""
    directory = Path(directory)
    raw = {name: read_yaml(directory / fname) for name, fname in FILES.items()}
    versions = {name: _version(data, FILES[name]) for name, data in raw.items()}
    taxonomy = _parse_taxonomy(raw["taxonomy"], FILES["taxonomy"])
    keys = _category_keys(taxonomy)
    departments = _parse_departments(raw["departments"], FILES["departments"])
    duty = _parse_duty(raw["duty"], FILES["duty"], keys, departments)
    missing = [l1 for l1 in dict.fromkeys(c.l1 for c in taxonomy) if l1 not in duty]
    if missing:
        raise _fail(FILES["duty"], "duty", "category", f"一级 categories without a duty entry: {missing}")
    sla = _parse_sla(raw["sla"], FILES["sla"], keys)
    return RoutingLists(
        version="+".join(f"{name}@{v}" for name, v in versions.items()),
        taxonomy=taxonomy,
        departments=departments,
        duty=duty,
        sla=sla.table,
        default_sla=sla.default,
        holidays=sla.holidays,
        extra_workdays=sla.workdays,
        versions=versions,
        directory=directory,
        local_years=sla.local_years,
        timezone=sla.timezone,
        urgent_hours=sla.urgent_hours,
    )


@lru_cache(maxsize=4)
def _load_cached(directory: str) -> RoutingLists:
    return parse_lists(Path(directory))


def load_lists(directory: Path | None = None) -> RoutingLists:
    """Load the lists from ``directory`` (default: ``MINYI_LISTS_DIR`` or the packaged ones); cached."""
    path = Path(directory) if directory is not None else default_lists_dir()
    return _load_cached(str(path.resolve()))


load_lists.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- taxonomy generation


def read_taxonomy_excel(path: Path) -> tuple[Category, ...]:
    """Categories from Teddy Cup 附件1 (一级分类/二级分类/三级分类), order kept, duplicates dropped."""
    import pandas as pd

    frame = pd.read_excel(path, dtype=str)
    cols = ["一级分类", "二级分类", "三级分类"]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ListsError(f"{path.name}: missing columns {missing}")
    frame = frame[cols].dropna().apply(lambda col: col.str.strip())
    return tuple(dict.fromkeys(Category(*row) for row in frame.itertuples(index=False)))


def build_taxonomy_yaml(source: Path, out: Path, version: str) -> Path:
    """Write ``taxonomy.yaml`` from 附件1 (run once; the output is committed and then edited as data)."""
    cats = read_taxonomy_excel(source)
    tree: dict[str, dict[str, list[str]]] = {}
    for c in cats:
        tree.setdefault(c.l1, {}).setdefault(c.l2, []).append(c.l3)
    n2 = sum(len(v) for v in tree.values())
    header = (
        "# 事项清单 (item list): three-level appeal taxonomy 一级 → 二级 → [三级].\n"
        f"# Generated once from Teddy Cup 2020 C 附件1 ({source.name}) by\n"
        "# minyi_nlp.routing.lists.build_taxonomy_yaml; since then this file is the source of truth.\n"
        f"# {len(tree)} 一级, {n2} (一级, 二级) pairs ({len({c.l2 for c in cats})} distinct 二级 names),\n"
        f"# {len(cats)} items ({len({c.l3 for c in cats})} distinct 三级 names).\n"
        "# Category keys elsewhere (duty.yaml, sla.yaml) are '一级', '一级/二级' or '一级/二级/三级'.\n"
        "# Bump `version` on every change: models and stored decisions record it.\n"
    )
    body = yaml.safe_dump(
        {"version": version, "source": f"teddy2020_c/{source.name}", "categories": tree},
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=None,
        width=110,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + body, encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m minyi_nlp.routing.lists [check [DIR] | build-taxonomy XLSX OUT VERSION]``."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["build-taxonomy"] and len(args) == 4:
        print(build_taxonomy_yaml(Path(args[1]), Path(args[2]), args[3]))
        return 0
    if args[:1] in (["check"], []):
        lists = load_lists(Path(args[1]) if len(args) > 1 else None)
        print(
            f"ok {lists.version}: {len(lists.taxonomy)} items, {len(lists.departments)} department types, "
            f"{len(lists.duty)} duty keys, {len(lists.sla)} SLA keys"
        )
        return 0
    print(main.__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
