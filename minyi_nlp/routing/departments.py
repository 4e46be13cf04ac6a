"""Department labels derived from real data: normalised agency names and replying units in replies.

There is no clean department-labelled set, so labels are *derived* and the derivation is measured
(``write_report`` → ``reports/department_labels.md``):

* Shangluo mayor's mailbox: ``reply_agency`` is a raw unit name → :func:`normalise_department`;
* Teddy Cup 附件4: the free-text ``答复意见`` → :func:`derive_from_reply`, named rules in priority order:

  1. ``signature``      — a unit opening a sentence and followed by a date, or closing the reply
                          ("…。A8县住房保障局2014年3月14日");
  2. ``transfer``       — the unit the appeal was passed to ("已转L1区住建局核处", "交由县教育局办理");
  3. ``self_reference`` — "我街道…" / "我镇…": a street office / town government wrote the reply;
  4. ``self_action``    — a unit that acts ("A3区洋湖街道高度重视", "经A7县教育局调查");
  5. ``thanks_topic``   — the domain in "感谢您对城市管理工作的关心" (``topics`` in departments.yaml);
  6. ``referral``       — the unit the citizen is sent to ("建议您向K10县人社局劳动保障监察大队反映");
  7. ``explicit_unit``  — the most frequent unit written with an explicit place ("A7县教育局");
  8. ``mention``        — the most frequent line unit mentioned at all ("区教育局").

  The first rule that finds a non-generic unit wins; a generic office (区县人民政府, 信息办, 党委 …) is
  returned only when no rule finds anything else. Units inside 《…》 titles and national/provincial
  units (国家旅游局, 省教育厅) are ignored.

Units are matched against the vocabulary in ``departments.yaml`` (longest match wins, the place in
front of a unit gives its jurisdiction, and adjacent units such as "县委编委办" resolve to the last one).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from minyi_nlp.routing.jurisdiction import Gazetteer, Jurisdiction, iter_places, load_gazetteer
from minyi_nlp.routing.lists import DepartmentType, RoutingLists, load_lists

__all__ = [
    "RULES",
    "DepartmentMatch",
    "derive_from_reply",
    "derive_labels",
    "mask_phones",
    "load_shangluo",
    "load_teddy_replies",
    "normalise_department",
    "unit_name_rules",
    "write_report",
]

RULES: tuple[str, ...] = (
    "signature",
    "transfer",
    "self_reference",
    "self_action",
    "thanks_topic",
    "referral",
    "explicit_unit",
    "mention",
)
_RELATIVE_LEVEL = {
    "市": "city",
    "州": "city",
    "区": "district",
    "县": "district",
    "镇": "street",
    "乡": "street",
}
_BARE_PLACE = {"city": "市人民政府", "district": "区县人民政府", "street": "乡镇人民政府"}
_DATE_RE = re.compile(
    r"(?:\d{4}|[〇○零一二三四五六七八九]{4})\s*(?:年|[.\-/])\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
)
_SENTENCE_START = set("。！!？?；;：:”\"'）)】>》，,…")
_TRANSFER_RE = re.compile(
    r"(?:转交|转办|转给|转至|转到|转|交由|交给|移交|移送|交办给|交办)(?:至|到|给|由)?[市区县]?$"
)
_REFERRAL_RE = re.compile(r"(?:向|找|联系|咨询|致电|前往|请到|可到|可以到|直接到|请与|可与)$")
_REFERRAL_AFTER_RE = re.compile(
    r"^.{0,12}?(?:反映|咨询|投诉|申请|举报|联系|办理|了解|求助|查询|报案|报警|反馈|处理)"
)
# "我街道…" / "我镇…": the reply is written by a street office / town government
_SELF_REFERENCE_RE = re.compile(
    r"(?:我|本)(街道|镇|乡)(?!本土)(?:办事处|党工委|党委|人民政府|政府)?(?=[\u4e00-\u9fff])"
)
_SELF_REFERENCE = {"街道": "街道办事处", "镇": "乡镇人民政府", "乡": "乡镇人民政府"}
# "感谢您对城市管理工作的关心": the domain of the replying unit
_THANKS_RE = re.compile(
    r"对(?:我们|我局|我市|我县|我区|我镇|我街道|我单位|我中心|本单位)?的?([\u4e00-\u9fff]{2,16}?)"
    r"的(?:关心|支持|关注|理解|监督|信任)"
)
_CUE_AFTER_RE = re.compile(
    r"^(?:[、和及](?:人民)?政府|党委)?(?:[,，、]?(?:对此|对此事|就此|针对)?)"
    r"(?:高度重视|非常重视|十分重视|极为重视|收到|接到|已收悉|收悉|已经|已于|已对|已就|已将|已责成|经调查|经核实|"
    r"经查|经了解|知悉|获悉|得知|立即|迅速|随即|及时|组织|安排|派员|派出|现将|现回复|现答复|回复如下|答复如下|高度关注|"
    r"工作人员|会同|联合|召开|调查|核实|回复|答复|认真|积极|正在|将)"
)
# "经X调查", "责成X核实": X investigates (but not "经X验收合格", "由X审批" — past approvals)
_CUE_BEFORE_RE = re.compile(r"(?:经|责成|要求|请|我们是)$")
_INVESTIGATE_RE = re.compile(
    r"^.{0,4}?(?:调查|核实|核查|了解|研究|查实|查证|现场|实地|走访|会同|处理|办理|回复|答复)"
)
_TITLE_RE = re.compile(r"《[^《》]{0,80}》")
_NATIONAL_RE = re.compile(r"(?:国家|国务院|中央|省)$")  # 国家旅游局, 省教育厅: not a local handler
_PHONE_RE = re.compile(
    r"(?<!\d)(?:\d{3,4}[-—－ ]?)?\d{7,8}(?!\d)|(?<!\d)1[3-9]\d{9}(?!\d)|0\d{2,3}-[\d-]{4,}"
)


@dataclass(frozen=True)
class DepartmentMatch:
    """A derived department label."""

    department: str  # canonical type from departments.yaml
    jurisdiction: str | None  # place written with the unit ("A7县", "商州区", "A3区洋湖街道"), if any
    generic: bool
    rule: str
    level: str | None = None  # city / district / street, from the place, a 市/区/县 prefix or the type
    kind: str = "line"
    surface: str = ""  # the unit as written (place + unit)
    span: tuple[int, int] | None = None  # in the normalised text the rule looked at


@dataclass(frozen=True)
class _Unit:
    start: int  # including the place in front
    end: int
    unit_start: int
    department: str
    place: Jurisdiction | None
    level: str | None


# --------------------------------------------------------------------------- text helpers


def _normalise(text: Any) -> str:
    """``normalize_text`` (width, traditional → simplified) with all whitespace removed."""
    from minyi_nlp.text.normalize import normalize_text

    return re.sub(r"\s+", "", normalize_text(text if isinstance(text, str) else ""))


def mask_phones(text: str) -> str:
    """Replace phone-number-like digit runs with ``<PHONE>`` (for report snippets)."""
    return _PHONE_RE.sub("<PHONE>", text)


# --------------------------------------------------------------------------- unit matching


@lru_cache(maxsize=8)
def unit_pattern(dept: DepartmentType) -> str:
    """One regular expression for the names of a department type (aliases longest first, then patterns)."""
    parts = [re.escape(a) for a in sorted(dept.aliases, key=len, reverse=True)] + [f"(?:{p})" for p in dept.patterns]
    return "|".join(parts)


def unit_name_rules(lists: RoutingLists | None = None) -> list[tuple[str, str]]:
    """(department type, regular expression of its names) for every type of ``departments.yaml``: the
    department head's keyword rules (an appeal that names a unit, "尊敬的A3区城管局", leans to its type)."""
    lists = lists or load_lists()
    return [(dept.name, unit_pattern(dept)) for dept in lists.departments.values()]


def _unit_patterns(lists: RoutingLists) -> tuple[tuple[int, DepartmentType, re.Pattern[str]], ...]:
    return tuple((order, dept, re.compile(unit_pattern(dept))) for order, dept in enumerate(lists.departments.values()))


def _resolve_level(dept: DepartmentType, level: str | None, lists: RoutingLists) -> DepartmentType:
    target = dict(dept.level_variants).get(level or "")
    return lists.departments[target] if target else dept


def _attach_place(places: Sequence[Jurisdiction], text: str, start: int, end: int) -> Jurisdiction | None:
    """The place written directly in front of (or overlapping the start of) a unit at [start, end)."""
    best = None
    for p in places:
        ps, pe = p.matched  # type: ignore[misc]
        if ps >= start or pe > end:
            continue
        touches = pe >= start or (pe == start - 1 and text[pe] in "市区县州")
        if touches and (best is None or pe > best.matched[1]):  # type: ignore[index]
            best = p
    return best


def _relative_level(text: str, start: int) -> str | None:
    if text[start : start + 1] in ("市", "区", "县"):
        return _RELATIVE_LEVEL[text[start]]
    return _RELATIVE_LEVEL.get(text[start - 1 : start]) if start > 0 else None


def _find_units(
    text: str, *, lists: RoutingLists | None = None, gazetteer: Gazetteer | None = None
) -> list[_Unit]:
    """Unit mentions in normalised ``text`` (longest match wins), each with the place in front of it."""
    lists = lists or load_lists()
    gaz = gazetteer or load_gazetteer(lists.directory)
    candidates = [
        (m.end() - m.start(), order, m.start(), m.end(), dept)
        for order, dept, regex in _unit_patterns(lists)
        for m in regex.finditer(text)
    ]
    taken: list[tuple[int, int]] = []
    chosen = []
    for _, _, s, e, dept in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if all(e <= ts or s >= te for ts, te in taken):
            taken.append((s, e))
            chosen.append((s, e, dept))
    places = iter_places(text, gazetteer=gaz, short_names=True)
    units = []
    for s, e, dept in sorted(chosen, key=lambda c: c[0]):
        place = _attach_place(places, text, s, e)
        level = place.level if place else _relative_level(text, s) or dept.level
        dept = _resolve_level(dept, level, lists)
        # the place, or a relative prefix written in front ("市交警支队", "县人社局"), belongs to the unit
        relative = s > 0 and text[s - 1] in _RELATIVE_LEVEL
        start = place.matched[0] if place else s - 1 if relative else s  # type: ignore[index]
        units.append(_Unit(start, e, s, dept.name, place, level))
    return units


def _bare_places(text: str, units: Sequence[_Unit], gaz: Gazetteer) -> list[_Unit]:
    """Places not part of a unit, as pseudo-units (A5区 → 区县人民政府, 洋湖街道 → 街道办事处)."""
    out = []
    for p in iter_places(text, gazetteer=gaz):
        s, e = p.matched  # type: ignore[misc]
        if any(not (e <= u.start or s >= u.end) for u in units):
            continue
        dept = "街道办事处" if p.level == "street" and p.name.endswith("街道") else _BARE_PLACE[p.level]
        out.append(_Unit(s, e, s, dept, p, p.level))
    return out


def _chains(units: Sequence[_Unit], lists: RoutingLists) -> list[_Unit]:
    """Merge adjacent units (商洛市公安局交警支队车管所, 县委编委办) into the last one, place inherited;
    a generic tail does not replace a line unit (市水利局党委 → 水利局)."""
    out: list[_Unit] = []
    for u in sorted(units, key=lambda x: x.start):
        if out and u.start == out[-1].end:
            head = out[-1]
            keep = (
                head
                if lists.departments[u.department].generic and not lists.departments[head.department].generic
                else u
            )
            place = keep.place or head.place or u.place
            level = keep.level if keep.place else head.level or keep.level
            out[-1] = replace(keep, start=head.start, end=u.end, place=place, level=level)
        else:
            out.append(u)
    return out


def _to_match(unit: _Unit, text: str, rule: str, lists: RoutingLists) -> DepartmentMatch:
    dept = lists.departments[unit.department]
    place = unit.place
    return DepartmentMatch(
        department=dept.name,
        jurisdiction=place.full_name if place else None,
        generic=dept.generic,
        rule=rule,
        level=unit.level,
        kind=dept.kind,
        surface=text[unit.start : unit.end],
        span=(unit.start, unit.end),
    )


# --------------------------------------------------------------------------- raw agency names


def normalise_department(
    raw: str, *, lists: RoutingLists | None = None, gazetteer: Gazetteer | None = None
) -> DepartmentMatch | None:
    """Canonical department type of a raw unit name ("市信息中心" → 信息办, "商洛市公安局交警支队" → 交警).

    Several units separated by spaces ("市城管局 市交警支队"): the first. Adjacent units
    ("镇安县人民政府永乐街道办事处"): the last, the most specific. A bare place ("丹凤县") is its
    government. A person's name or an unknown unit gives None.
    """
    lists = lists or load_lists()
    gaz = gazetteer or load_gazetteer(lists.directory)
    from minyi_nlp.text.normalize import normalize_text

    for segment in re.split(r"[\s,，、;；/]+", normalize_text(raw if isinstance(raw, str) else "")):
        if not segment:
            continue
        units = _chains(_find_units(segment, lists=lists, gazetteer=gaz), lists)
        if units:
            last = units[-1]
            if (
                last.place is None
            ):  # 商州区刘湾街道办事处中心村村民委员会: the committee is inside that street
                placed = [u for u in units if u.place is not None]
                last = replace(last, place=placed[-1].place) if placed else last
            return _to_match(last, segment, "agency_unit", lists)
        places = iter_places(segment, gazetteer=gaz, short_names=True)
        if places and "".join(segment[p.matched[0] : p.matched[1]] for p in places) == segment:  # type: ignore[index]
            bare = _bare_places(segment, [], gaz) or [
                _Unit(0, len(segment), 0, _BARE_PLACE[places[-1].level], places[-1], places[-1].level)
            ]
            return _to_match(bare[-1], segment, "agency_bare_place", lists)
    return None


# --------------------------------------------------------------------------- replies


def _is_sentence_start(text: str, pos: int, slack: int = 0) -> bool:
    """A unit that opens a sentence (after punctuation, at the start, or right after a date's 日).

    ``slack`` allows that many unknown characters in front (an unlisted street name: 王家河街道办事处).
    """
    for p in range(pos, max(-1, pos - slack - 1), -1):
        if p == 0 or text[p - 1] in _SENTENCE_START or text[p - 1] == "日" or text[p - 1].isdigit():
            return True
        if not "\u4e00" <= text[p - 1] <= "\u9fff":
            return False
    return False


def _signature(text: str, units: Sequence[_Unit]) -> list[_Unit]:
    """Units that open a sentence and are followed by a date or close the reply."""
    out = []
    closing = len(text.rstrip("。.!！ "))
    for u in units:
        after = u.end + len(text[u.end : u.end + 2]) - len(text[u.end : u.end + 2].lstrip(",，.。:： "))
        slack = 4 if u.place is None and u.level == "street" else 0
        if (u.end >= closing or _DATE_RE.match(text, after)) and _is_sentence_start(text, u.start, slack):
            out.append(u)
    return out


def _transfer(text: str, units: Sequence[_Unit]) -> list[_Unit]:
    return [u for u in units if _TRANSFER_RE.search(text[max(0, u.start - 4) : u.start])]


def _self_action(text: str, units: Sequence[_Unit]) -> list[_Unit]:
    return [
        u
        for u in units
        if _CUE_AFTER_RE.match(text[u.end : u.end + 8])
        or (
            _CUE_BEFORE_RE.search(text[max(0, u.start - 4) : u.start])
            and _INVESTIGATE_RE.match(text[u.end :])
        )
    ]


def _referral(text: str, units: Sequence[_Unit]) -> list[_Unit]:
    """Units the citizen is sent to: "建议您向X反映", "请到X办理"."""
    return [
        u
        for u in units
        if _REFERRAL_RE.search(text[max(0, u.start - 4) : u.start])
        and _REFERRAL_AFTER_RE.match(text[u.end :])
    ]


def _self_reference(text: str) -> list[_Unit]:
    """ "我街道" / "我镇": a street office or town government wrote the reply (place unknown)."""
    return [
        _Unit(m.start(), m.end(), m.start(), _SELF_REFERENCE[m.group(1)], None, "street")
        for m in _SELF_REFERENCE_RE.finditer(text)
    ]


@lru_cache(maxsize=8)
def _topic_regex(lists: RoutingLists) -> tuple[re.Pattern[str] | None, dict[str, str]]:
    owner = {t: d.name for d in lists.departments.values() for t in d.topics}
    if not owner:
        return None, owner
    return re.compile("|".join(re.escape(t) for t in sorted(owner, key=len, reverse=True))), owner


def _thanks_topic(text: str, lists: RoutingLists, gaz: Gazetteer) -> list[_Unit]:
    """ "感谢您对城市管理工作的关心" → 城管; "对安沙镇工作的支持" → that town's government."""
    regex, owner = _topic_regex(lists)
    out = []
    for m in _THANKS_RE.finditer(text):
        phrase, (s, e) = m.group(1), m.span(1)
        streets = [p for p in iter_places(phrase, gazetteer=gaz) if p.level == "street"]
        if streets:
            p = streets[0]
            dept = "街道办事处" if p.name.endswith("街道") else "乡镇人民政府"
            out.append(_Unit(s, e, s, dept, replace(p, matched=None), "street"))
            continue
        hit = regex.search(phrase) if regex else None
        if hit:
            out.append(
                _Unit(s, e, s, owner[hit.group(0)], None, lists.departments[owner[hit.group(0)]].level)
            )
    return out


def _most_frequent(units: Sequence[_Unit], lists: RoutingLists) -> list[_Unit]:
    """Units ordered by how often their department is mentioned (ties: first mentioned)."""
    counts = Counter(u.department for u in units)
    return sorted(
        units, key=lambda u: (lists.departments[u.department].generic, -counts[u.department], u.start)
    )


def derive_from_reply(
    reply_text: str, *, lists: RoutingLists | None = None, gazetteer: Gazetteer | None = None
) -> DepartmentMatch | None:
    """The handling unit named in an official reply (rules in :data:`RULES` order), or None."""
    lists = lists or load_lists()
    gaz = gazetteer or load_gazetteer(lists.directory)
    text = _normalise(reply_text)
    if not text:
        return None
    titles = [m.span() for m in _TITLE_RE.finditer(text)]  # 《A市人民政府信息公开条例》 names no handler
    units = [
        u
        for u in _chains(_find_units(text, lists=lists, gazetteer=gaz), lists)
        if not any(ts <= u.start and u.end <= te for ts, te in titles)
        and not _NATIONAL_RE.search(text[max(0, u.start - 3) : u.start])
    ]
    local = [u for u in units if lists.departments[u.department].kind != "street"]
    bare = [
        b
        for b in _bare_places(text, units, gaz)
        if not any(ts <= b.start and b.end <= te for ts, te in titles)
    ]
    with_bare = _chains(units + bare, lists)
    candidates: list[tuple[str, list[_Unit]]] = [
        ("signature", _signature(text, with_bare)),
        ("transfer", _transfer(text, with_bare)),
        ("self_reference", _self_reference(text)),
        ("self_action", _self_action(text, with_bare)),
        ("thanks_topic", _thanks_topic(text, lists, gaz)),
        ("referral", _referral(text, units)),
        ("explicit_unit", _most_frequent([u for u in units if u.place is not None], lists)),
        # a bare 街道/乡镇/村委会 mention is mostly a location or a policy quote, not the handler
        ("mention", _most_frequent(local, lists)),
    ]
    first_generic: DepartmentMatch | None = None
    for rule, found in candidates:
        for unit in found:
            match = _to_match(unit, text, rule, lists)
            if not match.generic:
                return match
            first_generic = first_generic or match
    return first_generic


# --------------------------------------------------------------------------- frames


def _evidence(text: str, match: DepartmentMatch | None, width: int = 30) -> str:
    if match is None or match.span is None:
        return mask_phones(text[-2 * width :])
    s, e = match.span
    return mask_phones(text[max(0, s - width) : e + width])


def derive_labels(
    frame: Any,
    *,
    source: str | None = None,
    default_city: str | None = None,
    lists: RoutingLists | None = None,
) -> Any:
    """Copy of ``frame`` with ``department``, ``dept_jurisdiction``, ``dept_generic``, ``dept_rule``
    (plus ``dept_level``, ``dept_kind``, ``dept_evidence``).

    ``source`` "shangluo" (column ``reply_agency``) or "teddy" (column ``答复意见``); inferred from the
    columns when omitted. ``default_city`` fills the jurisdiction of units written with a bare 市
    ("市信息办" → 商洛市 for Shangluo); the Teddy data has many cities, so it stays empty there.
    """
    lists = lists or load_lists()
    gaz = load_gazetteer(lists.directory)
    if source is None:
        source = "shangluo" if "reply_agency" in frame.columns else "teddy"
    column = "reply_agency" if source == "shangluo" else "答复意见"
    rows = []
    for raw in frame[column].tolist():
        if source == "shangluo":
            match = normalise_department(raw, lists=lists, gazetteer=gaz)
            evidence = mask_phones(str(raw) if isinstance(raw, str) else "")
        else:
            match = derive_from_reply(raw, lists=lists, gazetteer=gaz)
            evidence = _evidence(_normalise(raw), match)
        if match is not None and match.jurisdiction is None and match.level == "city" and default_city:
            match = replace(match, jurisdiction=default_city)
        rows.append(
            {
                "department": match.department if match else None,
                "dept_jurisdiction": match.jurisdiction if match else None,
                "dept_generic": match.generic if match else None,
                "dept_rule": match.rule if match else None,
                "dept_level": match.level if match else None,
                "dept_kind": match.kind if match else None,
                "dept_evidence": evidence,
            }
        )
    import pandas as pd

    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


# --------------------------------------------------------------------------- data


def _raw_file(relative: str) -> Path:
    """``data/raw/<relative>``, falling back to the shared data folder next to the project."""
    from minyi_nlp.config import PROJECT_DIR, get_settings

    for base in (get_settings().raw_dir, PROJECT_DIR.parent / "shared" / "data"):
        if (base / relative).is_file():
            return base / relative
    raise FileNotFoundError(f"{relative} not found in data/raw or ../shared/data")


def load_teddy_replies(path: Path | None = None) -> Any:
    """Teddy Cup 附件4 (messages with official replies) as a DataFrame, text columns as str."""
    import pandas as pd

    frame = pd.read_excel(path or _raw_file("teddy2020_c/fj4_messages_with_replies.xlsx"))
    for col in ("留言主题", "留言详情", "答复意见"):
        frame[col] = frame[col].fillna("").astype(str)
    return frame


def load_shangluo(path: Path | None = None) -> Any:
    """The Shangluo mayor's mailbox (``latest.csv``) as a DataFrame, text columns as str."""
    import pandas as pd

    frame = pd.read_csv(path or _raw_file("shangluo_mayor_mailbox/latest.csv"))
    for col in ("title", "query", "reply", "reply_agency"):
        frame[col] = frame[col].fillna("").astype(str)
    return frame


# --------------------------------------------------------------------------- report

SAMPLE_COLUMNS = ["source", "id", "evidence", "department", "jurisdiction", "rule", "correct", "note"]


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(k: int, n: int) -> str:
    return f"{k} ({100 * k / n:.1f} %)" if n else "0"


def draw_sample(labelled: dict[str, Any], sizes: dict[str, int], seed: int) -> Any:
    """A fixed-seed random sample of labelled rows per source, in the sample CSV's columns."""
    import pandas as pd

    rng = random.Random(seed)
    parts = []
    for source, frame in labelled.items():
        rows = frame[frame["department"].notna()]
        picked = sorted(rng.sample(range(len(rows)), min(sizes[source], len(rows))))
        part = rows.iloc[picked]
        parts.append(
            pd.DataFrame(
                {
                    "source": source,
                    "id": part["_id"].astype(str).values,
                    "evidence": part["dept_evidence"].values,
                    "department": part["department"].values,
                    "jurisdiction": part["dept_jurisdiction"].fillna("").values,
                    "rule": part["dept_rule"].values,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _merge_judgements(sample: Any, sample_csv: Path) -> Any:
    """Keep earlier hand judgements for rows whose derived label is unchanged."""
    import pandas as pd

    sample = sample.copy()
    sample["correct"], sample["note"] = "", ""
    if not sample_csv.is_file():
        return sample
    old = pd.read_csv(sample_csv, dtype=str).fillna("")
    key = ["source", "id", "department", "rule"]
    judged = {tuple(r[k] for k in key): (r["correct"], r["note"]) for _, r in old.iterrows()}
    for i, row in sample.iterrows():
        hit = judged.get(tuple(str(row[k]) for k in key))
        if hit:
            sample.at[i, "correct"], sample.at[i, "note"] = hit
    return sample


def write_report(
    out_dir: Path | None = None,
    *,
    seed: int = 2020,
    sample_sizes: dict[str, int] | None = None,
) -> Path:
    """Derive labels on both sources and write ``department_labels.md`` (+ the sample CSV).

    Hand judgements (``correct`` 1/0, ``note``) already in ``department_labels_sample.csv`` are kept
    for rows whose label did not change; changed rows come back unjudged.
    """
    import pandas as pd

    from minyi_nlp.config import get_settings

    out_dir = Path(out_dir) if out_dir is not None else get_settings().reports_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = sample_sizes or {"teddy_fj4": 30, "shangluo": 20}
    lists = load_lists()
    teddy = derive_labels(load_teddy_replies(), source="teddy", lists=lists)
    teddy["_id"] = teddy["留言编号"]
    shangluo = derive_labels(load_shangluo(), source="shangluo", default_city="商洛市", lists=lists)
    shangluo["_id"] = shangluo["mail_id"]
    labelled = {"teddy_fj4": teddy, "shangluo": shangluo}

    sample_csv = out_dir / "department_labels_sample.csv"
    sample = _merge_judgements(draw_sample(labelled, sizes, seed), sample_csv)
    sample[SAMPLE_COLUMNS].to_csv(sample_csv, index=False)

    agreement = _reply_agreement(load_shangluo(), shangluo, lists)
    md = _render_report(labelled, sample, agreement, lists, seed)
    path = out_dir / "department_labels.md"
    path.write_text(md, encoding="utf-8")
    del pd
    return path


def _reply_agreement(raw: Any, labelled: Any, lists: RoutingLists) -> dict[str, Any]:
    """Run the reply rules on Shangluo replies and compare with the (normalised) agency label."""
    gaz = load_gazetteer(lists.directory)
    rows = []
    for reply, agency_dept, generic in zip(
        raw["reply"].tolist(), labelled["department"].tolist(), labelled["dept_generic"].tolist(), strict=True
    ):
        if not isinstance(agency_dept, str) or generic is True:  # unlabelled (NaN) or generic office
            continue
        m = derive_from_reply(reply, lists=lists, gazetteer=gaz)
        rows.append((agency_dept, m.department if m else None, m.rule if m else None))
    n = len(rows)
    labelled_n = sum(1 for _, d, _ in rows if d)
    agree = sum(1 for a, d, _ in rows if d == a)
    by_rule: Counter[str] = Counter()
    agree_rule: Counter[str] = Counter()
    for a, d, r in rows:
        if d:
            by_rule[r] += 1
            agree_rule[r] += d == a
    return {"n": n, "labelled": labelled_n, "agree": agree, "by_rule": by_rule, "agree_rule": agree_rule}


def _render_report(
    labelled: dict[str, Any], sample: Any, agreement: dict[str, Any], lists: RoutingLists, seed: int
) -> str:
    out = [
        "# Department labels derived from real data",
        "",
        "Generated by `python -m minyi_nlp.routing.departments report` (`write_report`); the hand-checked "
        "sample is `department_labels_sample.csv`. "
        f"Vocabulary: `departments.yaml` version {lists.versions.get('departments')} "
        f"({len(lists.departments)} department types).",
        "",
        "There is no clean department-labelled data set. Labels are derived: the Shangluo mayor's mailbox "
        "has a raw `reply_agency` (normalised with `normalise_department`); Teddy Cup 附件4 has only the "
        "free-text official reply (`derive_from_reply`, rules in priority order: "
        + ", ".join(f"`{r}`" for r in RULES)
        + "; a generic office is returned only when no rule finds a line/street unit).",
        "",
        "## Coverage",
        "",
    ]
    rows = []
    for source, frame in labelled.items():
        n = len(frame)
        lab = int(frame["department"].notna().sum())
        gen = int((frame["dept_generic"] == True).sum())  # noqa: E712
        juris = int(frame["dept_jurisdiction"].notna().sum())
        rows.append((source, n, _pct(lab, n), _pct(lab - gen, n), _pct(gen, n), _pct(juris, n)))
    out.append(
        _table(
            [
                "source",
                "rows in",
                "labelled",
                "line/street/other unit",
                "generic office",
                "with jurisdiction",
            ],
            rows,
        )
    )
    out += ["", "### Rows labelled by rule", ""]
    rule_rows = []
    for source, frame in labelled.items():
        for rule, k in frame["dept_rule"].value_counts().items():
            gen = int(((frame["dept_rule"] == rule) & (frame["dept_generic"] == True)).sum())  # noqa: E712
            rule_rows.append((source, rule, k, gen))
    out.append(_table(["source", "rule", "rows", "of which generic"], rule_rows))
    out += ["", "### By kind of unit", ""]
    kind_rows = []
    for source, frame in labelled.items():
        for kind, k in frame["dept_kind"].value_counts().items():
            kind_rows.append((source, kind, k))
    out.append(_table(["source", "kind", "rows"], kind_rows))
    out += ["", "## Label distribution (top 20 per source)", ""]
    for source, frame in labelled.items():
        counts = frame["department"].value_counts().head(20)
        total = int(frame["department"].notna().sum())
        out += [f"**{source}** ({frame['department'].nunique()} distinct types)", ""]
        out.append(
            _table(
                ["department", "rows", "share of labelled", "generic"],
                [
                    (d, k, f"{100 * k / total:.1f} %", "yes" if lists.departments[d].generic else "")
                    for d, k in counts.items()
                ],
            )
        )
        out.append("")
    out += _render_sample(sample, seed)
    out += [
        "",
        "## Caveats",
        "",
        "- The Teddy sample is small (30 rows): read the interval, not the point estimate. The rules were "
        "frozen before this sample was drawn; they were developed on other random rows of the same file, "
        "so the estimate is not tuned to these 30 rows, but it is not a held-out data set either.",
        "- One annotator, the engineer who wrote the rules; no second judge, so no agreement figure. "
        "The notes in the CSV say why each row was judged as it was, so anyone can re-check them.",
        "- For Shangluo the unit is given (`reply_agency`), so the check measures name normalisation only; "
        "about three quarters of those agencies are generic offices (信息办, county/district government "
        "offices) that mostly redirect the citizen — correct names, weak department labels.",
        "- Labels are department *types*. Some mappings are conventions of `departments.yaml` (房管局 → "
        "住房和城乡建设局, 城乡建设行政执法大队 → 城市管理和行政执法局, 物价局 → 市场监督管理局); change the "
        "vocabulary, re-run this report, and re-judge the rows whose label changed (kept judgements are "
        "matched on source, id, department and rule).",
        "- Typical Teddy errors: a unit mentioned as a participant or as the subject of the complaint (a "
        "court that froze assets, the gas company complained about) when the replier only says 我局; the "
        "`mention` and `explicit_unit` rules are the weakest.",
        "- `dept_jurisdiction` is the place written with the unit only; for Shangluo, units written with "
        "a bare 市 (市信息办) get 商洛市. For routing, take the jurisdiction from the appeal text "
        "(`find_jurisdiction`).",
        "- Generic offices (`dept_generic`) should be kept out of, or modelled apart from, a line-department "
        "classifier: they are a routing level, not a function.",
    ]
    out += [
        "",
        "## Reply rules checked against a known label (Shangluo)",
        "",
        "The Shangluo letters also have the reply text, so `derive_from_reply` can be run on them and "
        "compared with the normalised `reply_agency` (only rows whose agency is a non-generic unit).",
        "",
        f"Rows: {agreement['n']}; reply rules found a unit in {_pct(agreement['labelled'], agreement['n'])}; "
        f"same department type as the agency: {agreement['agree']} of {agreement['labelled']} "
        f"({100 * agreement['agree'] / max(1, agreement['labelled']):.1f} %).",
        "",
        _table(
            ["rule", "rows", "agree with agency"],
            [
                (r, k, f"{agreement['agree_rule'][r]} ({100 * agreement['agree_rule'][r] / k:.0f} %)")
                for r, k in agreement["by_rule"].most_common()
            ],
        ),
    ]
    return "\n".join(out) + "\n"


def _render_sample(sample: Any, seed: int) -> list[str]:
    judged = sample[sample["correct"].astype(str).isin(["0", "1"])]
    out = [
        "## Hand-checked sample",
        "",
        f"{len(sample)} labelled rows drawn at random (seed {seed}) — "
        + ", ".join(f"{k} from {s}" for s, k in sample["source"].value_counts().items())
        + ". Each raw reply / agency string was read in full and the derived department type judged "
        "correct (1) or not (0); the judgement and a note are in `department_labels_sample.csv`. "
        "'Correct' means the canonical type names the unit that handled (or was told to handle) the "
        "appeal; the jurisdiction is not scored.",
        "",
    ]
    if judged.empty:
        return [*out, "_Not judged yet._"]
    rows = []
    for name, part in [("all", judged), *judged.groupby("source")]:
        k, n = int((part["correct"].astype(str) == "1").sum()), len(part)
        lo, hi = _wilson(k, n)
        rows.append((name, n, k, f"{100 * k / n:.0f} %", f"{100 * lo:.0f}–{100 * hi:.0f} %"))
    out.append(_table(["subset", "judged", "correct", "precision", "95 % Wilson interval"], rows))
    out += ["", "By rule:", ""]
    rule_rows = []
    for (source, rule), part in judged.groupby(["source", "rule"]):
        k = int((part["correct"].astype(str) == "1").sum())
        rule_rows.append((source, rule, len(part), k))
    out.append(_table(["source", "rule", "judged", "correct"], rule_rows))
    wrong = judged[judged["correct"].astype(str) == "0"]
    if not wrong.empty:
        out += ["", "Errors:", ""]
        out += [
            f"- {r.source} {r.id}: derived {r.department} ({r.rule}) — {r.note}" for r in wrong.itertuples()
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m minyi_nlp.routing.departments report [OUT_DIR]`` or ``… normalise RAW…``."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["report"]:
        print(write_report(Path(args[1]) if len(args) > 1 else None))
        return 0
    if args[:1] == ["normalise"]:
        for raw in args[1:]:
            print(raw, "→", normalise_department(raw))
        return 0
    if args[:1] == ["reply"]:
        for raw in args[1:]:
            print(derive_from_reply(raw))
        return 0
    print(main.__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
