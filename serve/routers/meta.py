"""Small lookups for clients and the console: who am I, which departments exist."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from serve.auth import DispatcherRole, Role
from serve.deps import DispatcherDep

router = APIRouter(prefix="/v1", tags=["meta"])


@router.get("/me")
def me(role: DispatcherRole) -> dict[str, Any]:
    """The role of the presented API key (lets the console check a key)."""
    return {"role": role, "admin": role == Role.admin}


@router.get("/departments")
def departments(_: DispatcherRole, dispatcher: DispatcherDep) -> dict[str, Any]:
    """The department-type vocabulary of the loaded lists (for overrides)."""
    lists = dispatcher.lists
    items = [{"name": d.name, "kind": d.kind, "generic": d.generic, "level": d.level}
             for d in lists.departments.values()]
    return {"lists_version": lists.version, "items": items}
