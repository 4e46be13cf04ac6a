"""Small lookups for clients and the console: who am I, which departments exist."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from serve.auth import AUTH_RESPONSES, DispatcherRole, Role
from serve.deps import DispatcherDep

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/me", operation_id="whoAmI", responses=AUTH_RESPONSES)
def me(role: DispatcherRole) -> dict[str, Any]:
    """The role of the presented API key (lets the console check a key)."""
    return {"role": role, "admin": role == Role.admin}


@router.get("/departments", operation_id="listDepartments",
            responses={**AUTH_RESPONSES, 503: {"description": "no model loaded (see /readyz)"}})
def departments(_: DispatcherRole, dispatcher: DispatcherDep) -> dict[str, Any]:
    """The department-type vocabulary of the loaded lists (for overrides)."""
    lists = dispatcher.lists
    items = [{"name": d.name, "kind": d.kind, "generic": d.generic, "level": d.level}
             for d in lists.departments.values()]
    return {"lists_version": lists.version, "items": items}
