"""``GET /v1/hotspots``: the hot issues (热点问题) of the stored appeals, and the supervisors' page that shows them
(``/console/hotspots``). The grouping is kept by :class:`serve.hotspots.HotspotBoard`."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from serve.auth import ADMIN_RESPONSES, SupervisorRole
from serve.hotspots import MAX_DAYS, HotspotBoard
from serve.responses import json_response
from serve.routers.console import SECURITY_HEADERS, STATIC_DIR

router = APIRouter(tags=["hotspots"])


class HotspotOut(BaseModel):
    rank: int
    heat: float
    place: str  # the site or district most members name (else the people they speak for, else "")
    description: str  # one sentence: when, how many, where, what
    start: str | None  # first and last appeal received, RFC 3339 with the server's offset
    end: str | None
    n: int  # appeals in the window
    ids: list[str]  # the appeals, earliest first
    title: str  # the most linked member's title (masked)
    people: str


class HotspotsOut(BaseModel):
    as_of: str
    days: int
    appeals: int  # appeals received in the window
    groups: int  # groups of at least two appeals among them
    hotspots: list[HotspotOut]


def _board(request: Request) -> HotspotBoard:
    return request.app.state.hotspots


@router.get("/v1/hotspots", response_model=HotspotsOut, operation_id="listHotspots",
            responses={**ADMIN_RESPONSES, 403: {"description": "the key's role is not allowed (supervisor or admin)"}})
async def hotspots(
    request: Request, _: SupervisorRole,
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="appeals received in the last `days` days")] = 7,
    top: Annotated[int, Query(ge=1, le=100, description="how many hot issues")] = 10,
) -> Any:
    """The ``top`` hot issues among the appeals received in the last ``days`` days, hottest first: groups of
    appeals about one event (linked at intake by the similar-appeal index and by merges), scored with the heat
    index of ``minyi hotspots``."""
    board = _board(request)
    out = await anyio.to_thread.run_sync(lambda: board.ranking(days, top))
    return json_response(out)


@router.get("/console/hotspots", include_in_schema=False)
def hotspots_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "hotspots.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)
