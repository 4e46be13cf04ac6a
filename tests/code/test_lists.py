"""Routing lists (事项/职责/实施清单): loading, validation errors, weights and deadlines."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from lists_helpers import copy_lists, edit_yaml

from minyi_nlp.config import PROJECT_DIR, RESOURCES_DIR
from minyi_nlp.routing.lists import (
    LEVELS,
    CalendarError,
    ListsError,
    get_lists_settings,
    load_lists,
    national_years,
    parse_lists,
    read_taxonomy_excel,
)

PACKAGED = RESOURCES_DIR / "lists"


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    load_lists.cache_clear()  # type: ignore[attr-defined]
    get_lists_settings.cache_clear()
    yield
    load_lists.cache_clear()  # type: ignore[attr-defined]
    get_lists_settings.cache_clear()


@pytest.fixture
def lists_copy(tmp_path: Path) -> Path:
    return copy_lists(tmp_path)


def test_packaged_lists_load_with_versions() -> None:
    lists = load_lists()
    assert set(lists.versions) == {"taxonomy", "departments", "duty", "sla"}
    assert all(lists.versions.values())
    assert "duty@" in lists.version
    assert len(lists.l1_categories) == 15
    assert len({(c.l1, c.l2) for c in lists.taxonomy}) == 118
    assert len({c.l2 for c in lists.taxonomy}) == 103
    assert len(lists.taxonomy) == 517
    assert len({c.l3 for c in lists.taxonomy}) == 390
    assert load_lists() is lists  # cached


def test_every_l1_category_has_a_duty_entry() -> None:
    lists = load_lists()
    for l1 in lists.l1_categories:
        entries = lists.departments_for(l1)
        assert entries, l1
        assert all(e.department in lists.departments and e.level in LEVELS for e in entries)


def test_every_category_resolves_to_departments_with_normalised_weights() -> None:
    lists = load_lists()
    for category in lists.taxonomy:
        entries = lists.departments_for(category.key)
        assert entries
        assert sum(e.weight for e in entries) == pytest.approx(1.0)
        assert all(e.weight > 0 for e in entries)


def test_most_specific_duty_key_wins() -> None:
    lists = load_lists()
    gas = lists.departments_for("城乡建设/城市建设和市政管理/燃气供应")
    city = lists.departments_for("城乡建设/城市建设和市政管理/园林绿化")  # falls back to the 二级 entry
    assert gas[0].department == "燃气企业"
    assert city[0].department == "城市管理和行政执法局"
    assert lists.departments_for(("城乡建设", "住房保障与房地产", "物业服务")) == lists.departments_for(
        "城乡建设/住房保障与房地产/物业服务"
    )
    # a 二级 without its own entry uses the 一级 list
    assert lists.departments_for("教育文体/教育收费") == lists.departments_for("教育文体")


def test_unknown_category_lookup_raises_key_error() -> None:
    with pytest.raises(KeyError, match="unknown category"):
        load_lists().departments_for("城乡建设/不存在")


def test_departments_vocabulary_flags_generic_offices() -> None:
    deps = load_lists().departments
    for generic in ("区县人民政府", "市人民政府", "信息办", "党委"):
        assert deps[generic].generic, generic
    for line in ("教育局", "交警", "住房和城乡建设局", "街道办事处"):
        assert not deps[line].generic, line
    assert deps["街道办事处"].level == "street"


@pytest.mark.parametrize(
    ("change", "entry", "field"),
    [
        (
            lambda d: d["duty"].update({"城乡建设/不存在": [{"department": "教育局", "level": "city"}]}),
            "不存在",
            "category",
        ),
        (
            lambda d: d["duty"]["城乡建设"].append({"department": "教育厅", "weight": 1, "level": "city"}),
            "城乡建设",
            "department",
        ),
        (lambda d: d["duty"]["城乡建设"][0].update({"weight": -0.5}), "城乡建设", "weight"),
        (lambda d: d["duty"]["城乡建设"][0].update({"weight": 0}), "城乡建设", "weight"),
        (lambda d: d["duty"]["城乡建设"][0].update({"weight": True}), "城乡建设", "weight"),
        (lambda d: d["duty"]["城乡建设"][0].update({"level": "province"}), "城乡建设", "level"),
        (lambda d: d["duty"].pop("纪检监察"), "duty", "category"),
    ],
)
def test_broken_duty_file_names_file_entry_and_field(
    lists_copy: Path, change: Callable[[dict[str, Any]], None], entry: str, field: str
) -> None:
    edit_yaml(lists_copy, "duty.yaml", change)
    with pytest.raises(ListsError) as info:
        load_lists(lists_copy)
    message = str(info.value)
    assert "duty.yaml" in message
    assert entry in message
    assert f"field '{field}'" in message


@pytest.mark.parametrize("days", [0, -3, 2.5, "3", True])
def test_sla_deadline_must_be_a_positive_int(lists_copy: Path, days: Any) -> None:
    edit_yaml(lists_copy, "sla.yaml", lambda d: d["sla"].update({"城乡建设/安全生产": {"working_days": days}}))
    with pytest.raises(
        ListsError, match=r"sla\.yaml: entry sla\['城乡建设/安全生产'\]: field 'working_days'"
    ):
        load_lists(lists_copy)


def test_sla_unknown_category_and_bad_urgent(lists_copy: Path) -> None:
    edit_yaml(lists_copy, "sla.yaml", lambda d: d["sla"].update({"外星事务": {"working_days": 2}}))
    with pytest.raises(ListsError, match="sla.yaml.*外星事务.*'category'"):
        parse_lists(lists_copy)
    shutil.copy(PACKAGED / "sla.yaml", lists_copy / "sla.yaml")
    edit_yaml(
        lists_copy, "sla.yaml", lambda d: d["sla"].update({"纪检监察": {"working_days": 2, "urgent": "yes"}})
    )
    with pytest.raises(ListsError, match="'urgent'"):
        parse_lists(lists_copy)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["departments"][0].update({"kind": "ministry"}), "kind"),
        (lambda d: d["departments"][0].update({"patterns": ["(unclosed"]}), "patterns"),
        (lambda d: d["departments"][1].update({"aliases": ["交警"]}), "aliases"),
        (lambda d: d["departments"][0].update({"level": "county"}), "level"),
        (lambda d: d["departments"].append(dict(d["departments"][0])), "name"),
    ],
)
def test_broken_departments_file(
    lists_copy: Path, change: Callable[[dict[str, Any]], None], field: str
) -> None:
    edit_yaml(lists_copy, "departments.yaml", change)
    with pytest.raises(ListsError, match=f"departments.yaml: entry .*field '{field}'"):
        parse_lists(lists_copy)


def test_missing_file_and_missing_version(lists_copy: Path) -> None:
    (lists_copy / "sla.yaml").unlink()
    with pytest.raises(ListsError, match="sla.yaml.*not found"):
        parse_lists(lists_copy)
    shutil.copy(PACKAGED / "sla.yaml", lists_copy / "sla.yaml")
    edit_yaml(lists_copy, "duty.yaml", lambda d: d.pop("version"))
    with pytest.raises(ListsError, match="duty.yaml.*'version'"):
        parse_lists(lists_copy)


def test_lists_dir_from_environment(lists_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edit_yaml(lists_copy, "duty.yaml", lambda d: d.update({"version": "admin-edit-7"}))
    monkeypatch.setenv("MINYI_LISTS_DIR", str(lists_copy))
    get_lists_settings.cache_clear()
    lists = load_lists()
    assert lists.versions["duty"] == "admin-edit-7"
    assert lists.directory == lists_copy.resolve()


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_due_at_skips_weekends_and_is_aware() -> None:
    lists = load_lists()
    friday = datetime(2024, 3, 1, 16, 30)  # naive: taken as Asia/Shanghai local time
    assert lists.sla_for("教育文体").working_days == 5
    due = lists.due_at("教育文体", friday)
    assert due == datetime(2024, 3, 8, 16, 30, tzinfo=SHANGHAI)
    assert due.utcoffset() == timedelta(hours=8)
    assert lists.due_at("城乡建设/安全生产/安全隐患", friday) == datetime(2024, 3, 4, 16, 30, tzinfo=SHANGHAI)
    saturday = datetime(2024, 3, 2, 9, 0)
    assert lists.add_working_days(saturday, 1) == datetime(2024, 3, 4, 9, 0)
    assert lists.add_working_days(saturday, 0) == saturday
    utc = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)  # 16:30 in Shanghai
    assert lists.due_at("教育文体", utc) == datetime(2024, 3, 8, 16, 30, tzinfo=SHANGHAI)


def test_national_holidays_and_make_up_days_come_from_the_calendar_package() -> None:
    lists = load_lists()
    assert not lists.holidays  # nothing listed locally: the package knows them
    # 2025 Spring Festival: 28 Jan–4 Feb off, Sunday 26 Jan worked
    start = datetime(2025, 1, 24, 10, 0)  # Friday
    assert lists.add_working_days(start, 1) == datetime(2025, 1, 26, 10, 0)
    assert lists.add_working_days(start, 3) == datetime(2025, 2, 5, 10, 0)
    # 2026 National Day: 1–7 Oct off (the pinned package's last year), Saturday 10 Oct worked
    assert lists.add_working_days(datetime(2026, 9, 30, 9, 0), 1) == datetime(2026, 10, 8, 9, 0)
    assert lists.is_working_day(date(2026, 10, 10))


def test_a_date_beyond_the_calendar_is_an_error() -> None:
    lists = load_lists()
    last = national_years()[1]
    with pytest.raises(CalendarError, match=rf"no holiday calendar for {last + 1}-01-0\d.*local_years"):
        lists.add_working_days(datetime(last, 12, 30, 9, 0), 5)
    with pytest.raises(CalendarError):
        lists.is_working_day(date(2003, 6, 2))


def test_local_days_and_years_from_sla_yaml(lists_copy: Path) -> None:
    last = national_years()[1]
    new_year = last + 1

    def local(d: dict[str, Any]) -> None:
        d["holidays"] = [f"{last}-06-03", f"{new_year}-01-01"]  # a local day off; next year's New Year
        d["extra_workdays"] = [f"{new_year}-01-09"]  # a Saturday or Sunday worked
        d["local_years"] = [new_year]

    edit_yaml(lists_copy, "sla.yaml", local)
    lists = load_lists(lists_copy)
    assert not lists.is_working_day(date(last, 6, 3))
    assert not lists.is_working_day(date(new_year, 1, 1))
    assert lists.is_working_day(date(new_year, 1, 9))
    assert lists.is_working_day(date(new_year, 1, 4)) == (date(new_year, 1, 4).weekday() < 5)
    # a listed year is counted; the year after is still an error
    lists.add_working_days(datetime(new_year, 1, 1, 9, 0), 5)
    with pytest.raises(CalendarError, match=str(new_year + 1)):
        lists.is_working_day(date(new_year + 1, 1, 4))


def test_urgent_appeals_are_due_in_hours() -> None:
    lists = load_lists()
    received = datetime(2026, 12, 4, 17, 30)  # a Friday evening
    assert lists.urgent_hours == 2
    assert lists.due_at("教育文体", received, urgent=True) == datetime(2026, 12, 4, 19, 30, tzinfo=SHANGHAI)
    gas = "城乡建设/城市建设和市政管理/燃气供应"
    assert lists.sla_for(gas).urgent_hours == 1
    assert lists.due_at(gas, received, urgent=True) == datetime(2026, 12, 4, 18, 30, tzinfo=SHANGHAI)
    assert lists.due_at(gas, received) == datetime(2026, 12, 7, 17, 30, tzinfo=SHANGHAI)  # not urgent: Monday


def test_timezone_and_urgent_hours_are_configurable(lists_copy: Path) -> None:
    edit_yaml(lists_copy, "sla.yaml", lambda d: d.update({"timezone": "Asia/Urumqi", "urgent_hours": 4}))
    lists = load_lists(lists_copy)
    due = lists.due_at("教育文体", datetime(2026, 12, 1, 8, 0), urgent=True)
    assert due == datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo("Asia/Urumqi"))
    for field, value in (("timezone", "Mars/Olympus"), ("urgent_hours", 0), ("local_years", ["2027"])):
        shutil.copy(PACKAGED / "sla.yaml", lists_copy / "sla.yaml")
        edit_yaml(lists_copy, "sla.yaml", lambda d, f=field, v=value: d.update({f: v}))
        with pytest.raises(ListsError, match=f"sla.yaml: entry .*field '{field}'"):
            parse_lists(lists_copy)


def test_duty_and_sla_look_ups_are_memoised_per_lists_object() -> None:
    lists = load_lists()
    first = lists.departments_for("城乡建设/城市建设和市政管理/燃气供应")
    first.clear()  # callers get their own list
    assert lists.departments_for(("城乡建设", "城市建设和市政管理", "燃气供应"))
    assert lists.sla_for("教育文体") is lists.sla_for(("教育文体",))
    assert ("duty", "城乡建设/城市建设和市政管理/燃气供应") in lists._memo
    with pytest.raises(KeyError):
        lists.sla_for("城乡建设/不存在")


def test_unlisted_sla_uses_default() -> None:
    lists = load_lists()
    assert lists.sla_for("商贸旅游/旅游管理/景区管理") == lists.default_sla


def test_taxonomy_matches_teddy_fj1_when_available() -> None:
    candidates = [
        PROJECT_DIR / "data/raw/teddy2020_c/fj1_label_taxonomy_517.xlsx",
        PROJECT_DIR.parent / "shared/data/teddy2020_c/fj1_label_taxonomy_517.xlsx",
    ]
    source = next((p for p in candidates if p.is_file()), None)
    if source is None:
        pytest.skip("Teddy Cup 附件1 not available")
    assert read_taxonomy_excel(source) == load_lists().taxonomy
