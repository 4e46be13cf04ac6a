"""What a decision may name: departments of the duty list's vocabulary (``departments.yaml``) and places
the gazetteer knows. A free-text override would be stored and exported as a training row, so anything
else is refused with a 422 that names the field."""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

__all__ = ["check_override", "known_department", "known_jurisdiction"]


def _routes(suggestion: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in suggestion.get("departments") or [] if isinstance(r, dict)]


def known_department(name: str, lists: Any, suggestion: dict[str, Any]) -> bool:
    """A department type of the loaded lists, or one this suggestion proposed."""
    return name in lists.departments or any(r.get("department") == name for r in _routes(suggestion))


def known_jurisdiction(name: str, suggestion: dict[str, Any]) -> bool:
    """The default city, a jurisdiction this suggestion named, or a name made only of places the
    gazetteer knows (商洛市, 洛南县, A3区, A3区洋湖街道 …), with nothing else in it."""
    from minyi_nlp.routing.jurisdiction import find_jurisdiction, iter_places

    named = {r.get("jurisdiction") for r in _routes(suggestion)} | {suggestion.get("jurisdiction")}
    if name in named or name == find_jurisdiction("").name:
        return True
    places = iter_places(name)
    pos = 0
    for place in places:
        if place.matched is None or place.matched[0] != pos or place.source not in ("anonymised", "gazetteer"):
            return False
        pos = place.matched[1]
    return bool(places) and pos == len(name)


def _invalid(field: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": msg}])


def check_override(department: str, jurisdiction: str | None, lists: Any, suggestion: dict[str, Any]) -> None:
    """Raise a 422 naming the field when an override names an unknown department or place."""
    if not known_department(department, lists, suggestion):
        raise _invalid("department", "is not a department of the duty list (GET /v1/departments lists them)")
    if jurisdiction is not None and not known_jurisdiction(jurisdiction, suggestion):
        raise _invalid("jurisdiction", "is not a place the gazetteer knows (a city, district, county or street)")
