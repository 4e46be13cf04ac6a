"""What a decision may name: departments of the duty list's vocabulary (``departments.yaml``) and places
the gazetteer knows. A free-text override would be stored and exported as a training row, so anything
else is refused with a 422 that names the field."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from fastapi.exceptions import RequestValidationError

__all__ = ["add_vocabulary", "check_override", "jurisdiction_pattern", "known_department", "known_jurisdiction"]

DECISION_BODIES = ("DecisionIn", "AppealDecisionIn")  # request bodies that name a department and a place
# Anonymised codes of the Teddy Cup data (A市, A3区, A7县, B9市, M6州); "B区" alone is a housing block.
_ANONYMISED = "[A-Z](?:[0-9]{1,2})?[市县州]|[A-Z][0-9]{1,2}区"


def _routes(suggestion: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in suggestion.get("departments") or [] if isinstance(r, dict)]


def known_department(name: str, lists: Any, suggestion: dict[str, Any]) -> bool:
    """A department type of the loaded lists, or one this suggestion proposed."""
    return name in lists.departments or any(r.get("department") == name for r in _routes(suggestion))


@lru_cache(maxsize=4)
def jurisdiction_pattern(gazetteer: Any = None) -> str:
    """The regular expression of a place name: one to three places the gazetteer knows (cities,
    districts, counties, streets) or anonymised codes, written one after the other (A3区洋湖街道)."""
    from minyi_nlp.routing.jurisdiction import load_gazetteer

    gaz = gazetteer or load_gazetteer()
    names = sorted({gaz.default_city, *gaz.places, *gaz.streets}, key=len, reverse=True)
    return "^(?:" + "|".join([_ANONYMISED, *map(re.escape, names)]) + "){1,3}$"


@lru_cache(maxsize=4)
def _jurisdiction_re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def known_jurisdiction(name: str, suggestion: dict[str, Any]) -> bool:
    """A jurisdiction this suggestion named, or a name made only of places the gazetteer knows
    (商洛市, 洛南县, A3区, A3区洋湖街道 …): the pattern the OpenAPI document gives."""
    named = {r.get("jurisdiction") for r in _routes(suggestion)} | {suggestion.get("jurisdiction")}
    return name in named or _jurisdiction_re(jurisdiction_pattern()).fullmatch(name) is not None


def add_vocabulary(schema: dict[str, Any], lists: Any) -> dict[str, Any]:
    """Write the vocabulary into the OpenAPI document: ``department`` of each of :data:`DECISION_BODIES` is one
    of the lists' department types, ``jurisdiction`` follows :func:`jurisdiction_pattern`."""
    for body in DECISION_BODIES:
        props = schema.get("components", {}).get("schemas", {}).get(body, {}).get("properties", {})
        for name, extra in (("department", {"enum": sorted(lists.departments)}),
                            ("jurisdiction", {"pattern": jurisdiction_pattern()})):
            for option in props.get(name, {}).get("anyOf", []):
                if option.get("type") == "string":
                    option.update(extra)
    return schema


def _invalid(field: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": msg}])


def check_override(department: str | None, jurisdiction: str | None, lists: Any, suggestion: dict[str, Any]) -> None:
    """Raise a 422 naming the field when a decision names an unknown department or place."""
    if department is not None and not known_department(department, lists, suggestion):
        raise _invalid("department", "is not a department of the duty list (GET /v1/departments lists them)")
    if jurisdiction is not None and not known_jurisdiction(jurisdiction, suggestion):
        raise _invalid("jurisdiction", "is not a place the gazetteer knows (a city, district, county or street)")
