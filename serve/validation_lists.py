"""Check a dispatcher's override against the lists: the department must be in ``departments.yaml``,
the jurisdiction a place the gazetteer knows (or the default city).

One function, :func:`route_errors`, answers in the shape of pydantic's errors, so a route raises
``RequestValidationError(route_errors(...))`` and the client gets a 422 that names the field.
"""

from __future__ import annotations

from typing import Any

from minyi_nlp.routing.jurisdiction import Gazetteer, iter_places, load_gazetteer
from minyi_nlp.routing.lists import get_lists_settings


def known_department(name: str, lists: Any) -> bool:
    """``name`` is a canonical department type of the loaded lists."""
    return name in lists.departments


def known_jurisdiction(name: str, gazetteer: Gazetteer | None = None) -> bool:
    """``name`` is the default city, a place of the gazetteer (real names, or the anonymised codes it
    recognises such as ``A3区``), a street of the gazetteer, or a district followed by one of its streets
    (``A3区洋湖街道``). Free text around a place (``A3区附近``) is refused."""
    gaz = gazetteer or load_gazetteer()
    if name in (gaz.default_city, get_lists_settings().default_city):
        return True
    places = iter_places(name, gazetteer=gaz)
    spans = [p.matched for p in places]
    if not places or spans[0] is None or spans[0][0] != 0 or spans[-1] is None or spans[-1][1] != len(name):
        return False
    if any(a[1] != b[0] for a, b in zip(spans, spans[1:], strict=False)):  # type: ignore[index]
        return False
    if len(places) == 1:
        place = places[0]
        return place.level != "street" or place.name in gaz.streets
    if len(places) == 2:
        district, street = places
        return (district.level == "district" and street.level == "street" and street.name in gaz.streets
                and (not gaz.parents_of(street.name) or district.name in gaz.parents_of(street.name)))
    return False


def route_errors(department: str | None, jurisdiction: str | None, lists: Any,
                 *, loc: tuple[str, ...] = ("body",)) -> list[dict[str, Any]]:
    """Pydantic-style errors for an override naming an unknown department or jurisdiction (empty when
    both are fine; None values are not checked)."""
    errors: list[dict[str, Any]] = []
    if department is not None and not known_department(department, lists):
        errors.append({"type": "value_error", "loc": (*loc, "department"),
                       "msg": "unknown department: use a name from departments.yaml (GET /v1/departments)"})
    if jurisdiction is not None and not known_jurisdiction(jurisdiction):
        errors.append({"type": "value_error", "loc": (*loc, "jurisdiction"),
                       "msg": "unknown jurisdiction: use the default city, a district or a street the "
                              "gazetteer knows (e.g. A3区 or A3区洋湖街道)"})
    return errors
