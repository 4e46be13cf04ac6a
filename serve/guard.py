"""Check before reading: the API key and the body size, before a byte of the body is read.

A pure ASGI middleware in front of the routes:

- every path under ``/v1/`` needs a known key (``Authorization: Bearer <key>``), else 401 at once;
  roles (403) are then checked by the route's dependency (:mod:`serve.auth`);
- a body larger than the route's limit is refused with 413: from its ``Content-Length`` before it
  is read, or, for a chunked body, as soon as the bytes read pass the limit. Batch routes (paths
  ending in ``:batch`` or ``/batch``) get ``max_batch_body_bytes``, every other route
  ``max_body_bytes``.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serve.auth import UNAUTHORIZED, Role, role_of
from serve.responses import dumps

PROTECTED_PREFIX = "/v1/"


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a chunked body passes its limit (turned into a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit:,} bytes")
        self.limit = limit


def body_limit(path: str, single: int, batch: int) -> int:
    """The body limit of ``path``."""
    return batch if path.endswith((":batch", "/batch")) else single


def too_large_message(limit: int) -> str:
    return (f"the request body is larger than this route's limit of {limit:,} bytes"
            + ("" if limit > 1024 * 1024 else "; send several appeals with POST /v1/suggestions:batch"))


async def _json(send: Send, status: int, body: dict[str, object], headers: list[tuple[bytes, bytes]]) -> None:
    payload = dumps(body)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": payload})


class RequestGuard:
    """Key and body-size checks ahead of routing (see the module docstring)."""

    def __init__(self, app: ASGIApp, keys: Mapping[bytes, Role], max_body_bytes: int,
                 max_batch_body_bytes: int) -> None:
        self.app = app
        self.keys = keys
        self.single = max_body_bytes
        self.batch = max_batch_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = dict(scope.get("headers") or ())
        if path.startswith(PROTECTED_PREFIX):
            auth = headers.get(b"authorization")
            if role_of(auth.decode("latin-1") if auth else None, self.keys) is None:
                await _json(send, 401, {"detail": UNAUTHORIZED, "message": UNAUTHORIZED},
                            [(b"www-authenticate", b"Bearer")])
                return
        limit = body_limit(path, self.single, self.batch)
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await _json(send, 400, {"detail": "invalid Content-Length", "message": "invalid Content-Length"}, [])
                return
            if declared > limit:
                await _json(send, 413, {"detail": too_large_message(limit), "message": too_large_message(limit)},
                            [(b"connection", b"close")])
                return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
