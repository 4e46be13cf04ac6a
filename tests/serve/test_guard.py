"""Check before reading: a request without a key, or with a body over its route's limit, is answered
before a byte of the body is read (serve.guard)."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from serve_helpers import API_KEYS, AS_DISPATCHER, DISPATCHER_KEY, live_server

from serve.auth import parse_api_keys
from serve.guard import RequestGuard

KEYS = parse_api_keys(API_KEYS)
HUNDRED_MB = 100 * 1024 * 1024


def _call(path: str, headers: dict[str, str]) -> tuple[int, bool]:
    """Run the guard alone: (status it answered, whether the app behind it was reached)."""
    reached = False

    async def app(scope, receive, send):
        nonlocal reached
        reached = True
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        raise AssertionError("the body was read")

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    guard = RequestGuard(app, KEYS, max_body_bytes=64 * 1024, max_batch_body_bytes=16 * 1024 * 1024)
    scope = {"type": "http", "method": "POST", "path": path,
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(guard(scope, receive, send))
    return sent[0]["status"], reached


def test_no_key_is_401_without_reading_the_body():
    assert _call("/v1/suggestions", {"Content-Length": str(HUNDRED_MB)}) == (401, False)
    assert _call("/v1/suggestions", {"Authorization": "Bearer wrong-key-123"}) == (401, False)


def test_a_body_over_the_limit_is_413_without_reading_it():
    auth = {"Authorization": f"Bearer {DISPATCHER_KEY}"}
    assert _call("/v1/suggestions", {**auth, "Content-Length": str(64 * 1024 + 1)}) == (413, False)
    assert _call("/v1/suggestions/x/decision", {**auth, "Content-Length": str(HUNDRED_MB)}) == (413, False)
    assert _call("/v1/suggestions:batch", {**auth, "Content-Length": str(HUNDRED_MB)}) == (413, False)
    assert _call("/v1/suggestions:batch", {**auth, "Content-Length": str(1024 * 1024)}) == (204, True)
    assert _call("/healthz", {}) == (204, True)


def test_real_server_answers_401_before_a_100_mb_body_arrives(make_settings, stub_dispatcher):
    from serve.main import create_app

    app = create_app(make_settings(), dispatcher=stub_dispatcher)
    with live_server(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            start = time.perf_counter()
            sock.sendall(f"POST /v1/suggestions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {HUNDRED_MB}\r\n\r\n".encode())
            answer = sock.recv(4096).decode("latin-1")
            elapsed = time.perf_counter() - start
    assert answer.startswith("HTTP/1.1 401") and elapsed < 5  # no 100 MB was sent or waited for


def test_per_route_limits_through_the_app(client):
    big = "路灯坏了" * 20_000  # 80,000 characters: over the 128 KiB of one appeal, fine for a batch
    r = client.post("/v1/suggestions", json={"content": big}, headers=AS_DISPATCHER)
    assert r.status_code == 413 and "limit" in r.json()["message"]
    r = client.post("/v1/suggestions:batch", json={"items": [{"content": big[:20_000]}] * 3}, headers=AS_DISPATCHER)
    assert r.status_code == 201


def test_a_chunked_body_over_the_limit_is_413(client):
    def chunks():
        yield b'{"content": "'
        for _ in range(200):
            yield "路灯坏了".encode() * 100
        yield b'"}'

    r = client.post("/v1/suggestions", content=chunks(), headers={**AS_DISPATCHER, "Content-Type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("path", ["/v1/me", "/v1/departments", "/v1/decisions/export", "/v1/no-such-route"])
def test_every_v1_path_needs_a_key(client, path):
    r = client.get(path)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert json.loads(r.text)["message"].startswith("missing or invalid API key")
