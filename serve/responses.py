"""Fast JSON responses: orjson when it is installed, the standard library otherwise."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import Response

try:  # optional speed-up; not a hard dependency
    import orjson
except ImportError:  # pragma: no cover
    orjson = None


def dumps(data: Any) -> bytes:
    if orjson is not None:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


def json_response(data: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise ``data`` (already JSON-shaped) without a second pydantic validation pass."""
    return Response(dumps(data), status_code=status_code, media_type="application/json", headers=headers)
