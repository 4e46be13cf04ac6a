"""Routing: the lists as data (事项/职责/实施清单), department labels and jurisdiction.

Nothing is read at import time: the YAML lists are loaded (and cached) on first use, and the
submodules themselves are imported on first attribute access.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Category": "lists",
    "DutyEntry": "lists",
    "ListsError": "lists",
    "RoutingLists": "lists",
    "Sla": "lists",
    "load_lists": "lists",
    "DepartmentMatch": "departments",
    "derive_from_reply": "departments",
    "derive_labels": "departments",
    "normalise_department": "departments",
    "Jurisdiction": "jurisdiction",
    "find_jurisdiction": "jurisdiction",
    "route_label": "jurisdiction",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"minyi_nlp.routing.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'minyi_nlp.routing' has no attribute {name!r}")
