"""Throw garbage at every route: whatever comes in, the answer is never a 5xx."""

from __future__ import annotations

import json

import pytest
from fastapi.routing import APIRoute
from serve_helpers import AS_ADMIN

GARBAGE_BODIES: list[bytes] = [
    b"", b"{", b"}", b"[]", b"[{}]", b"null", b"true", b"0", b"-1e999", b'"\\u0000"', b"\xff\xfe\xfd",
    b"\x00" * 64, b"{" * 2_000 + b"}" * 2_000, b"[" * 5_000 + b"]" * 5_000,
    json.dumps({"content": None}).encode(), json.dumps({"content": {"$ne": 1}}).encode(),
    json.dumps({"content": "\x00\x01\x02 控制字符", "title": "\u202e反向", "channel": "web"}).encode(),
    json.dumps({"content": "ok", "title": "ok", "channel": "x", "extra": [1, 2, 3]}).encode(),
    json.dumps({"items": [{"content": 1}]}).encode(), json.dumps([{"content": "🚧🚧🚧"}]).encode(),
    json.dumps({"dispatcher": "张三", "accepted_rank": -5}).encode(),
    json.dumps({"dispatcher": "张三", "accepted_rank": 2**70}).encode(),
    json.dumps({"dispatcher": "\x00", "department": "\x00", "accepted_rank": None}).encode(),
    json.dumps({"dispatcher": "张三", "department": "教育局", "jurisdiction": "A1区", "accepted_rank": None}).encode(),
    b'{"content": "\\ud800\\udfff\\udc00"}', b'{"content": "a", "content": 5}',
]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
WEIRD_IDS = ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "%00", "..%2f..%2fetc", "' OR 1=1 --", "9" * 300]


def api_routes(routes) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (newer FastAPI wraps them)."""
    out = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif getattr(route, "original_router", None) is not None:
            out += api_routes(route.original_router.routes)
    return out


def _paths(app, sid: str) -> list[tuple[str, str]]:
    routes = api_routes(app.routes)
    documented = {(m.upper(), p) for p, ms in app.openapi()["paths"].items() for m in ms}
    assert documented <= {(m, r.path) for r in routes for m in r.methods}, "the walk missed documented routes"
    assert len(routes) >= 14
    out = []
    for route in routes:
        for method in route.methods:
            for path in {route.path.replace("{suggestion_id}", x) for x in [sid, *WEIRD_IDS]}:
                out.append((method, path))
    return out


def test_every_route_survives_garbage(client):
    sid = client.post("/v1/suggestions", json={"content": "物业乱收费"}, headers=AS_ADMIN).json()["id"]
    failures = []
    for method, path in _paths(client.app, sid):
        for body in GARBAGE_BODIES:
            for ctype in CONTENT_TYPES:
                r = client.request(method, path, content=body, headers={**AS_ADMIN, "Content-Type": ctype})
                if r.status_code >= 500:
                    failures.append((method, path, body[:40], ctype, r.status_code, r.text[:200]))
        for query in ("?format=%00", "?since=9999-99-99", "?explain=%FF", "?min_share=nan", "?a[]=1&a[]=2"):
            r = client.request(method, path + query, headers=AS_ADMIN)
            if r.status_code >= 500:
                failures.append((method, path + query, b"", "", r.status_code, r.text[:200]))
    assert not failures, failures[:10]


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/suggestions/x/y/z", "/%ff%fe", "/static/../main.py"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH", "PUT", "OPTIONS", "BREW"])
def test_unknown_paths_and_methods(client, method, path):
    r = client.request(method, path, headers=AS_ADMIN)
    assert r.status_code < 500


@pytest.mark.parametrize("header", [b"Bearer \x00", b"Bearer " + b"\xff" * 10, b"Bearer " + b"k" * 10_000, b"\t"])
def test_garbage_authorization_headers(client, header):
    r = client.post("/v1/suggestions", json={"content": "x"}, headers={"Authorization": header})
    assert r.status_code == 401
