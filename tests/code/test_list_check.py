"""``minyi lists check``: every list read afresh and checked together; the calendar's reach; caches cleared."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from lists_helpers import PACKAGED_LISTS, copy_lists, edit_yaml
from typer.testing import CliRunner

from minyi_nlp.routing.hazards import load_hazards
from minyi_nlp.routing.jurisdiction import load_gazetteer
from minyi_nlp.routing.list_check import calendar_warning, check_lists, clear_caches
from minyi_nlp.routing.lists import ListsError, WorkCalendar, get_lists_settings, load_lists, national_years

LAST = national_years()[1]


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    clear_caches()
    get_lists_settings.cache_clear()
    yield
    clear_caches()
    get_lists_settings.cache_clear()


@pytest.fixture
def lists_copy(tmp_path: Path) -> Path:
    return copy_lists(tmp_path)


def test_the_calendar_reaches_the_last_year_without_a_gap() -> None:
    assert WorkCalendar().covered_until() == date(LAST, 12, 31)
    assert WorkCalendar(local_years=frozenset({LAST + 1, LAST + 2})).covered_until() == date(LAST + 2, 12, 31)
    # a year listed after a missing one does not extend it: the missing year stops deadlines first
    assert WorkCalendar(local_years=frozenset({LAST + 2})).covered_until() == date(LAST, 12, 31)


def test_packaged_lists_are_reported_with_every_version() -> None:
    report = check_lists(today=date(LAST, 6, 1))
    assert set(report.versions) == {"taxonomy", "departments", "duty", "sla", "gazetteer", "hazards",
                                    "item_keywords"}
    assert report.versions["hazards"] == load_hazards().version
    assert report.counts["taxonomy"] == {"items": 517}
    assert report.calendar_until == date(LAST, 12, 31) and report.warnings == ()
    text = "\n".join(report.lines())
    assert "hazards.yaml" in text and f"working days known until {LAST}-12-31" in text


def test_a_calendar_ending_soon_is_a_warning_that_says_what_to_add() -> None:
    report = check_lists(today=date(LAST, 12, 5))
    assert report.days_left == 26
    (warning,) = report.warnings
    assert "ends in 26 days" in warning and f"{LAST + 1}" in warning and "local_years" in warning
    assert calendar_warning(date(LAST, 12, 31), date(LAST + 1, 1, 3)).startswith(
        "the working-day calendar ended 3 days ago")
    assert calendar_warning(date(LAST, 12, 31), date(LAST, 10, 1), warn_days=60) is None


def test_adding_the_next_year_to_sla_yaml_extends_the_calendar(lists_copy: Path) -> None:
    def next_year(d: dict[str, Any]) -> None:
        d["holidays"] = [f"{LAST + 1}-01-01"]
        d["local_years"] = [LAST + 1]

    edit_yaml(lists_copy, "sla.yaml", next_year)
    report = check_lists(lists_copy, today=date(LAST, 12, 5))
    assert report.calendar_until == date(LAST + 1, 12, 31) and report.warnings == ()
    # and the deadlines that failed before are counted, skipping the listed day off
    lists = load_lists(lists_copy)
    due = lists.add_working_days(datetime(LAST, 12, 31, 9, 0), 1)
    assert due.date() > date(LAST + 1, 1, 1) and due.date().weekday() < 5


def test_a_folder_without_hazards_yaml_uses_the_packaged_lexicon(lists_copy: Path) -> None:
    (lists_copy / "hazards.yaml").unlink()
    report = check_lists(lists_copy, today=date(LAST, 6, 1))
    assert report.versions["hazards"] == load_hazards(PACKAGED_LISTS).version
    assert report.warnings == (f"no hazards.yaml in {lists_copy}: the packaged hazard lexicon is used",)
    assert load_hazards(lists_copy).version == report.versions["hazards"]


@pytest.mark.parametrize(("name", "change", "expected"), [
    ("hazards.yaml", lambda d: d["responders"].update({"gas": ["不存在的部门"]}),
     r"hazards.yaml.*responders.gas.*不存在的部门"),
    ("gazetteer.yaml", lambda d: d["streets"].append({"name": "洋湖", "parent": "A3区"}),
     r"gazetteer.yaml.*streets\[\d+\].*name"),
    ("duty.yaml", lambda d: d["duty"].update({"不存在的类": [{"department": "城管", "level": "district"}]}),
     r"duty.yaml: entry duty\['不存在的类'\]: field 'category'"),
])
def test_an_error_names_the_file_the_entry_and_the_field(lists_copy: Path, name: str,
                                                       change: Callable[[dict[str, Any]], None],
                                                       expected: str) -> None:
    edit_yaml(lists_copy, name, change)
    with pytest.raises(ListsError, match=expected):
        check_lists(lists_copy)


def test_the_command_line(lists_copy: Path) -> None:
    from minyi_nlp.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["lists", "check", str(lists_copy), "--warn-days", "-100000"])
    assert ok.exit_code == 0, ok.output
    assert "taxonomy.yaml" in ok.output and "working days known until" in ok.output
    strict = runner.invoke(app, ["lists", "check", str(lists_copy), "--warn-days", "100000", "--strict"])
    assert strict.exit_code == 1 and "warning: the working-day calendar" in strict.output
    as_json = runner.invoke(app, ["lists", "check", str(lists_copy), "--json", "--warn-days", "-100000"])
    assert as_json.exit_code == 0 and '"calendar_until"' in as_json.output
    edit_yaml(lists_copy, "hazards.yaml", lambda d: d["responders"].update({"gas": ["不存在的部门"]}))
    bad = runner.invoke(app, ["lists", "check", str(lists_copy)])
    assert bad.exit_code == 1 and "error: hazards.yaml" in bad.output
    missing = runner.invoke(app, ["lists", "check", str(lists_copy / "nope")])
    assert missing.exit_code == 1 and "no such lists folder" in missing.output


def test_clear_caches_makes_the_next_load_read_the_files_again(lists_copy: Path) -> None:
    before = (load_hazards(lists_copy).version, load_gazetteer(lists_copy).version)

    def bump(d: dict[str, Any]) -> None:
        d["version"] = "9999.1"

    edit_yaml(lists_copy, "hazards.yaml", bump)
    edit_yaml(lists_copy, "gazetteer.yaml", bump)
    assert (load_hazards(lists_copy).version, load_gazetteer(lists_copy).version) == before  # cached
    clear_caches()
    assert (load_hazards(lists_copy).version, load_gazetteer(lists_copy).version) == ("9999.1", "9999.1")
