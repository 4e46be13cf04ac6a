"""Check a lists folder the way an administrator edits it: every file read fresh, cross-checked, summarised.

``minyi lists check [DIR]`` and the service's start-up and reload use this module:

* :func:`check_lists` parses the six files of a lists folder without the caches (``taxonomy``, ``departments``,
  ``duty`` and ``sla`` together, then ``gazetteer``, ``hazards`` and ``item_keywords``), checks that the hazard
  responders and the keyword lexicon's departments are department types, and reports each file's version,
  what it holds, and how far the working-day calendar reaches. An error is a :class:`ListsError` (or the
  keyword lexicon's ``DataError``) naming the file, the entry and the field.
* :func:`calendar_warning` says when the calendar ends within ``warn_days``: after its last day every deadline
  that would fall later is left to a person (``CalendarError``), so the next year's official holidays must be
  added to ``sla.yaml`` before then.
* :func:`clear_caches` forgets every parsed list, so that the next load reads the files again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

#: warn when the working-day calendar ends within this many days
WARN_DAYS = 60


@dataclass(frozen=True)
class ListsReport:
    """What :func:`check_lists` found: versions and sizes per file, the calendar's last day, warnings."""

    directory: Path
    versions: dict[str, str]  # per file (without .yaml)
    counts: dict[str, dict[str, int]]  # per file: what it holds, e.g. {"gazetteer": {"places": 8, "streets": 443}}
    calendar_until: date
    today: date
    warnings: tuple[str, ...] = field(default=())

    @property
    def days_left(self) -> int:
        return (self.calendar_until - self.today).days

    def as_dict(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "versions": self.versions, "counts": self.counts,
                "calendar_until": self.calendar_until.isoformat(), "today": self.today.isoformat(),
                "days_left": self.days_left, "warnings": list(self.warnings)}

    def lines(self) -> list[str]:
        """The report as text, one line per file, then the calendar and the warnings."""
        out = [f"lists in {self.directory}"]
        for name, version in self.versions.items():
            detail = ", ".join(f"{n:,} {what}" for what, n in self.counts.get(name, {}).items())
            out.append(f"  {name + '.yaml':19s} {version:18s} {detail}")
        out.append(f"  working days known until {self.calendar_until} ({self.days_left} days from {self.today})")
        out += [f"warning: {w}" for w in self.warnings]
        return out


def calendar_warning(until: date, today: date, warn_days: int = WARN_DAYS) -> str | None:
    """The warning for a calendar ending on ``until``, seen on ``today`` (None when it reaches far enough)."""
    left = (until - today).days
    if left >= warn_days:
        return None
    year = until.year + 1
    when = f"ended {-left} days ago" if left < 0 else f"ends in {left} days"
    return (f"the working-day calendar {when} ({until}): an appeal whose deadline falls after it gets no "
            f"due date and goes to a person; add the official holidays and make-up days of {year} to sla.yaml "
            f"(holidays, extra_workdays) and list {year} under local_years, or upgrade chinese-calendar")


def check_lists(directory: Path | None = None, *, today: date | None = None,
                warn_days: int = WARN_DAYS) -> ListsReport:
    """Read every list of ``directory`` (default: ``MINYI_LISTS_DIR`` or the packaged lists) afresh and check
    them together; raises ``ListsError`` / ``DataError`` naming the file, entry and field at fault."""
    from minyi_nlp.data.weak_labels import LEXICON_FILE, load_lexicon
    from minyi_nlp.routing.hazards import HAZARDS_FILE, hazards_file, parse_hazards
    from minyi_nlp.routing.jurisdiction import GAZETTEER_FILE, parse_gazetteer
    from minyi_nlp.routing.lists import ListsError, default_lists_dir, parse_lists

    folder = Path(directory) if directory is not None else default_lists_dir()
    if not folder.is_dir():
        raise ListsError(f"{folder}: no such lists folder")
    lists = parse_lists(folder)
    versions = dict(lists.versions)
    counts = {"taxonomy": {"items": len(lists.taxonomy)}, "departments": {"types": len(lists.departments)},
              "duty": {"keys": len(lists.duty)}, "sla": {"keys": len(lists.sla)}}
    warnings: list[str] = []
    gazetteer = parse_gazetteer(folder / GAZETTEER_FILE)
    versions["gazetteer"] = gazetteer.version
    counts["gazetteer"] = {"places": len(gazetteer.places), "streets": len(gazetteer.streets)}
    hazards_path = hazards_file(folder)
    if hazards_path.parent != folder:
        warnings.append(f"no {HAZARDS_FILE} in {folder}: the packaged hazard lexicon is used")
    hazards = parse_hazards(hazards_path)
    hazards.check_responders(lists.departments, hazards_path.name)
    versions["hazards"] = hazards.version
    counts["hazards"] = {"kinds": len(hazards.kinds)}
    keywords_path = folder / LEXICON_FILE
    if keywords_path.is_file():  # used only to build the sub-category weak labels (training)
        lexicon = load_lexicon(keywords_path, lists)
        versions["item_keywords"] = lexicon.version
        counts["item_keywords"] = {"keys": len(lexicon.words)}
    until = lists.calendar.covered_until()
    today = today or datetime.now(ZoneInfo(lists.timezone)).date()
    late = calendar_warning(until, today, warn_days)
    if late:
        warnings.append(late)
    return ListsReport(folder, versions, counts, until, today, tuple(warnings))


def clear_caches() -> None:
    """Forget every parsed list (lists, gazetteer, hazard lexicon): the next load reads the files again."""
    from minyi_nlp.routing.hazards import load_hazards
    from minyi_nlp.routing.jurisdiction import load_gazetteer
    from minyi_nlp.routing.lists import load_lists

    load_lists.cache_clear()
    load_gazetteer.cache_clear()  # type: ignore[attr-defined]
    load_hazards.cache_clear()  # type: ignore[attr-defined]
