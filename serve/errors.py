"""Error responses: 422 that names the field, 503 when the database is down, never a bare 500 for
bad input. Validation errors never echo the input back (it may hold personal data)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from serve.guard import BodyTooLarge, too_large_message
from serve.suggest import ShuttingDown

log = logging.getLogger(__name__)


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "items", 3, "content")`` → ``items[3].content``; the body itself → ``body``."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")] or list(loc[:1]) or ["body"]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def describe(errors: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    detail, messages = [], []
    for err in errors:
        loc = list(err.get("loc") or ())
        name = field_name(loc)
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "string_pattern_mismatch":  # the patterns of serve.schemas, in words
            from serve.schemas import TEXT_PATTERN, is_blank

            value = err.get("input")
            text = (err.get("ctx") or {}).get("pattern") == TEXT_PATTERN
            msg = ("has no letter, digit or CJK character (punctuation or symbols only)"
                   if text and not (isinstance(value, str) and is_blank(value))
                   else "must not be empty or whitespace only")
        if err.get("type") == "string_too_short" and (err.get("ctx") or {}).get("min_length") == 1:
            msg = "must not be empty"
        if err.get("type") == "json_invalid":
            name, msg = "body", f"invalid JSON ({(err.get('ctx') or {}).get('error', 'decode error')})"
        detail.append({"loc": loc, "field": name, "msg": msg, "type": err.get("type", "value_error")})
        messages.append(f"{name}: {msg}")
    return detail, "; ".join(messages)


def validation_response(errors: Sequence[dict[str, Any]]) -> JSONResponse:
    detail, message = describe(errors)
    return JSONResponse({"detail": detail, "message": message}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def body_problem(cause: BaseException | None) -> str:
    """What is wrong with a body that could not be parsed, from the parser's exception."""
    if isinstance(cause, RecursionError):
        return "the JSON is nested too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "a number in the JSON has more than 4,300 digits"
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    return "the body is not valid JSON"


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette's 405 names only those of the first route,
    and ``/v1/appeals`` has a GET and a POST route)."""
    from starlette.routing import Match

    routes = request.app.router.routes
    return ", ".join(m for m in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
                     if any(r.matches({**request.scope, "method": m})[0] == Match.FULL for r in routes))


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc.errors())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body it could not parse: say why (still a 422), or 413.
            cause = exc.__cause__
            if isinstance(cause, BodyTooLarge):
                message = too_large_message(cause.limit)
                return JSONResponse({"detail": message, "message": message}, status_code=413,
                                    headers={"Connection": "close"})
            return validation_response([{"type": "json_invalid", "loc": ["body"], "msg": "invalid JSON",
                                         "ctx": {"error": body_problem(cause)}}])
        headers = getattr(exc, "headers", None)
        if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
            headers = {**(headers or {}), "Allow": allowed_methods(request)}
        return JSONResponse({"detail": exc.detail, "message": str(exc.detail)}, status_code=exc.status_code,
                            headers=headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(TimeoutError)
    async def _db_down(_: Request, exc: Exception) -> JSONResponse:
        log.error("database unavailable: %s", type(exc).__name__)
        return JSONResponse({"detail": "database unavailable", "message": "database unavailable"},
                            status_code=status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.exception_handler(DBAPIError)
    async def _db_error(_: Request, exc: DBAPIError) -> JSONResponse:
        log.error("database error: %s", type(exc.orig).__name__)
        return JSONResponse({"detail": "database error", "message": "database error"},
                            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)

    @app.exception_handler(ShuttingDown)
    async def _stopping(_: Request, exc: ShuttingDown) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "message": str(exc)}, status_code=503)
