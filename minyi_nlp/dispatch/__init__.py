"""Dispatch: the lists, the places and the heads' scores → ranked routes with reasons and review rules.

Submodules are imported on first attribute access (they pull in NumPy, the lists and the bundle).
"""

from __future__ import annotations

from minyi_nlp.lazy import lazy_exports

_EXPORTS = {
    "CategoryScore": "dispatcher",
    "DepartmentScore": "dispatcher",
    "DispatchSettings": "dispatcher",
    "Dispatcher": "dispatcher",
    "Routing": "dispatcher",
    "Suggestion": "dispatcher",
    "get_dispatch_settings": "dispatcher",
    "RankedDepartment": "ranking",
    "combine_scores": "ranking",
    "duty_scores": "ranking",
    "place_at_level": "ranking",
    "rank_departments": "ranking",
    "ensure_bundle": "build",
    "train_bundle": "build",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
