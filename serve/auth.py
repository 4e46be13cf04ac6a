"""Bearer API keys with roles.

``MINYI_API_KEYS="dispatcher:KEY1,admin:KEY2"``; ``admin`` may do everything a ``dispatcher`` may, and a
``dispatcher`` everything an ``intake`` key (channel integrations: ``POST /v1/appeals`` only) may. A
``supervisor`` (监督) may do what a dispatcher may and, like an admin, read the hot issues (``GET /v1/hotspots``).
A missing or unknown key is 401, a known key with too small a role is 403.

Default when ``MINYI_API_KEYS`` is unset: the keys are read from ``MINYI_API_KEYS_FILE`` (default
``data/serve/api_keys``, same ``role:key,…`` format). If that file does not exist it is created with one
random admin key and one random dispatcher key (``secrets.token_urlsafe``), readable by the owner only,
and its path is logged (never the keys). A keys file that group or others may read is refused at
start-up (``chmod 600`` it). Nothing under ``/v1/`` is open without a key: :mod:`serve.guard` checks
the key before a request body is read. A set but empty or malformed ``MINYI_API_KEYS`` is refused at
start-up.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from minyi_nlp.data.private import readable_by_others

log = logging.getLogger(__name__)


class Role(StrEnum):
    intake = "intake"
    dispatcher = "dispatcher"
    supervisor = "supervisor"
    admin = "admin"


RANK = {Role.intake: 0, Role.dispatcher: 1, Role.supervisor: 1, Role.admin: 2}


class ApiKeyError(ValueError):
    """``MINYI_API_KEYS`` (or the keys file) is malformed."""


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def parse_api_keys(spec: str, *, source: str = "MINYI_API_KEYS") -> dict[bytes, Role]:
    """``"role:key,…"`` → {sha256(key): role}. Keys must be at least 8 characters."""
    out: dict[bytes, Role] = {}
    for n, item in enumerate(p.strip() for p in spec.replace("\n", ",").split(",")):
        if not item:
            continue
        role, sep, key = item.partition(":")
        role, key = role.strip(), key.strip()
        if not sep or not key:
            raise ApiKeyError(f"{source}: entry {n + 1} must be 'role:key'")
        if role not in Role.__members__:
            raise ApiKeyError(f"{source}: entry {n + 1} has unknown role {role!r} "
                              "(use intake, dispatcher, supervisor or admin)")
        if len(key) < 8:
            raise ApiKeyError(f"{source}: entry {n + 1} ({role}) has a key shorter than 8 characters")
        out[_digest(key)] = Role(role)
    if not out:
        raise ApiKeyError(f"{source} is empty: give at least one 'role:key'")
    return out


def ensure_keys_file(path: Path) -> bool:
    """Create ``path`` with a random admin and dispatcher key unless it exists; True if created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = f"admin:{secrets.token_urlsafe(24)},dispatcher:{secrets.token_urlsafe(24)}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(spec)
    return True


def load_api_keys(spec: str | None, keys_file: Path) -> dict[bytes, Role]:
    """The configured keys: ``spec`` when given, else the keys file (created on first use, 0600; one
    that group or others may read is refused)."""
    if spec is not None:
        return parse_api_keys(spec)
    if ensure_keys_file(keys_file):
        log.warning("MINYI_API_KEYS is not set: created random API keys in %s (admin and dispatcher)", keys_file)
    else:
        log.warning("MINYI_API_KEYS is not set: using the API keys in %s", keys_file)
    if readable_by_others(keys_file):
        mode = keys_file.stat().st_mode & 0o777
        raise ApiKeyError(f"{keys_file}: the API keys file has mode {mode:04o}, so other users may read it; "
                          f"run 'chmod 600 {keys_file}' (or set MINYI_API_KEYS)")
    return parse_api_keys(keys_file.read_text(encoding="utf-8"), source=str(keys_file))


def role_of(authorization: str | None, keys: Mapping[bytes, Role]) -> Role | None:
    """The role of an ``Authorization: Bearer <key>`` header, or None."""
    if not authorization:
        return None
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return None
    return keys.get(_digest(key))


UNAUTHORIZED = "missing or invalid API key (send 'Authorization: Bearer <key>')"
#: documented on every route that needs a key (``AUTH_RESPONSES``) or an admin key (``ADMIN_RESPONSES``)
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {401: {"description": "missing or invalid API key"}}
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **AUTH_RESPONSES, 403: {"description": "the key's role is not allowed (admin needed)"}}
# Declares the scheme in the OpenAPI document (``securitySchemes``, ``security`` per route); the key
# itself is checked by ``role_of`` here and, before the body is read, by serve.guard.
_bearer = HTTPBearer(auto_error=False, scheme_name="apiKey", description="an API key: Authorization: Bearer <key>")
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _known_role(request: Request) -> Role:
    found = role_of(request.headers.get("authorization"), request.app.state.api_keys)
    if found is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return found


def require(role: Role) -> Callable[..., Awaitable[Role]]:
    """A dependency that lets through keys of ``role`` or higher."""

    async def dependency(request: Request, _: BearerCredentials) -> Role:  # async: no worker thread
        found = _known_role(request)
        if RANK[found] < RANK[role]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this API key has role {found}; {role} is required")
        return found

    dependency.__name__ = f"require_{role}"
    return dependency


def require_one_of(*roles: Role) -> Callable[..., Awaitable[Role]]:
    """A dependency that lets through keys of exactly these roles."""

    async def dependency(request: Request, _: BearerCredentials) -> Role:  # async: no worker thread
        found = _known_role(request)
        if found not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"this API key has role {found}; one of {', '.join(roles)} is required")
        return found

    dependency.__name__ = "require_" + "_or_".join(roles)
    return dependency


IntakeRole = Annotated[Role, Depends(require(Role.intake))]
DispatcherRole = Annotated[Role, Depends(require(Role.dispatcher))]
AdminRole = Annotated[Role, Depends(require(Role.admin))]
SupervisorRole = Annotated[Role, Depends(require_one_of(Role.supervisor, Role.admin))]
