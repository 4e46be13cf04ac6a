"""Routing: the lists as data (事项/职责/实施清单), department labels and jurisdiction.

Nothing is read at import time: the YAML lists are loaded (and cached) on first use, and the
submodules themselves are imported on first attribute access.
"""

from __future__ import annotations

from minyi_nlp.lazy import lazy_exports

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
    "place_at_level": "jurisdiction",
    "route_label": "jurisdiction",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
