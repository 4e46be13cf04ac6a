"""API keys and roles: 401 without a valid key, 403 for a too small role, the keys-file default."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from serve_helpers import ADMIN_KEY, AS_ADMIN, AS_DISPATCHER, DISPATCHER_KEY

from serve.auth import ApiKeyError, Role, load_api_keys, parse_api_keys, role_of

APPEAL = {"content": "学校门口有人乱停车"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer wrong-key-123"},
     {"Authorization": f"Basic {DISPATCHER_KEY}"}, {"Authorization": DISPATCHER_KEY},
     {"Authorization": ("Bearer " + "é" * 40).encode("latin-1")}],
    ids=["none", "empty", "unknown", "basic", "no-scheme", "latin1"],
)
def test_missing_or_invalid_key_is_401(client, headers):
    r = client.post("/v1/suggestions", json=APPEAL, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_roles(client):
    assert client.post("/v1/suggestions", json=APPEAL, headers=AS_DISPATCHER).status_code == 201
    assert client.post("/v1/suggestions", json=APPEAL, headers=AS_ADMIN).status_code == 201  # admin ⊇ dispatcher
    assert client.get("/v1/decisions/export", headers=AS_DISPATCHER).status_code == 403
    assert client.post("/v1/admin/reload", headers=AS_DISPATCHER).status_code == 403
    assert client.get("/v1/decisions/export", headers=AS_ADMIN).status_code == 200
    assert client.get("/v1/me", headers=AS_DISPATCHER).json()["role"] == "dispatcher"
    assert client.get("/v1/me", headers={"Authorization": f"bearer  {ADMIN_KEY} "}).json()["role"] == "admin"


def test_probes_and_console_need_no_key(client):
    for path in ("/healthz", "/readyz", "/metrics", "/console", "/static/console.js"):
        assert client.get(path).status_code == 200, path


def test_auth_is_checked_before_the_body(client):
    r = client.post("/v1/suggestions", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code in (401, 422)  # never 500; FastAPI parses the body before dependencies
    r = client.post("/v1/suggestions", json={"content": "x"})
    assert r.status_code == 401


def test_parse_api_keys():
    keys = parse_api_keys(" dispatcher:aaaaaaaa , admin:bbbbbbbb,")
    assert role_of("Bearer aaaaaaaa", keys) is Role.dispatcher
    assert role_of("Bearer bbbbbbbb", keys) is Role.admin
    assert role_of("Bearer cccccccc", keys) is None
    for bad in ("", " , ", "dispatcher", "root:aaaaaaaa", "admin:short", "admin:"):
        with pytest.raises(ApiKeyError):
            parse_api_keys(bad)


def test_default_keys_file_is_created_once_and_private(tmp_path: Path):
    path = tmp_path / "serve" / "api_keys"
    first = load_api_keys(None, path)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(first.values()) == sorted([Role.admin, Role.dispatcher])
    assert load_api_keys(None, path) == first  # reused, not regenerated
    admin_key = next(e.split(":", 1)[1] for e in path.read_text().strip().split(",") if e.startswith("admin:"))
    assert role_of(f"Bearer {admin_key}", first) is Role.admin


def test_set_but_empty_keys_are_refused(tmp_path: Path):
    from serve.main import create_app
    from serve.settings import ServeSettings

    with pytest.raises(ApiKeyError):
        create_app(ServeSettings(database_url=f"sqlite:///{tmp_path}/x.db", api_keys=""))
