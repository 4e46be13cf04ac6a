"""``GET /v1/hotspots`` over the stored appeals: near-identical appeals at one place become the top hot issue,
a new appeal joins it without a rebuild, merges join and an undone merge leaves, the window and the roles
(stub model, both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from serve_helpers import (
    API_KEYS,
    AS_ADMIN,
    AS_DISPATCHER,
    NOISE,
    TINY_SIMILAR_THRESHOLD,
    make_stub_dispatcher,
    take_in,
)

SUPERVISOR_KEY = "supervisor-test-key-0001"
AS_SUPERVISOR = {"Authorization": f"Bearer {SUPERVISOR_KEY}"}
WITH_SUPERVISOR = f"{API_KEYS},supervisor:{SUPERVISOR_KEY}"  # MINYI_API_KEYS

SAME_SITE = [  # one event: night work at the building site by 洋湖街道, in four wordings
    NOISE,
    "您好！A3区洋湖街道旁边的工地，每天夜间施工到凌晨两点，噪音很大、粉尘也多，老人孩子无法休息！请尽快处理，谢谢。",
    "A3区洋湖街道旁边工地夜间施工到凌晨两点，噪音很大，粉尘多，老人孩子无法休息，请尽快处理。",
    "投诉A3区洋湖街道旁边的工地每天夜间施工到凌晨，噪音很大，粉尘也多，无法休息，请处理。",
]
SCHOOL = "A3区某学校食堂饭菜不卫生，学生吃了拉肚子，请教育部门调查。"
BILLBOARD = "A5区人民路公交站台的广告牌被风吹歪了，随时可能掉下来，请尽快处理。"


@pytest.fixture
def client(make_client, monkeypatch):
    monkeypatch.setenv("MINYI_SIMILAR_THRESHOLD", TINY_SIMILAR_THRESHOLD)
    return make_client(make_stub_dispatcher(), api_keys=WITH_SUPERVISOR)


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def hotspots(client, headers=AS_SUPERVISOR, **params):
    answer = client.get("/v1/hotspots", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_near_identical_appeals_at_one_place_are_the_top_hot_issue(client):
    event = [take_in(client, text, received_at=ago(3 - k / 2)).json()["id"] for k, text in enumerate(SAME_SITE)]
    others = [take_in(client, text).json()["id"] for text in (SCHOOL, BILLBOARD)]
    body = hotspots(client, days=7, top=10)
    assert body["days"] == 7 and body["appeals"] == 6
    top = body["hotspots"][0]
    assert top["rank"] == 1 and top["ids"] == event  # earliest first
    assert top["n"] == 4 and top["place"] == "A3区洋湖街道"
    assert "4位市民反映A3区洋湖街道" in top["description"] and "施工" in top["description"]
    assert top["start"] < top["end"] and top["heat"] > 4
    assert not any(i in h["ids"] for h in body["hotspots"] for i in others)  # single appeals are no hot issue

    board = client.app.state.hotspots
    assert board.rebuilds == 1
    again = "A3区洋湖街道旁边的工地又在夜间施工到凌晨两点，噪音很大，粉尘也多，请尽快处理。"
    later = take_in(client, again).json()["id"]
    top = hotspots(client, days=7, top=10)["hotspots"][0]
    assert top["ids"] == [*event, later] and top["n"] == 5
    assert board.rebuilds == 1  # the new appeal joined the group; nothing was read again


def test_the_window_and_top(client):
    old = [take_in(client, text, received_at=ago(21 - k / 4)).json()["id"] for k, text in enumerate(SAME_SITE[:3])]
    take_in(client, SCHOOL, received_at=ago(1))
    take_in(client, SCHOOL.replace("饭菜", "饭菜经常"), received_at=ago(1))
    week = hotspots(client, days=7, top=10)["hotspots"]
    assert [h["n"] for h in week] == [2] and not set(old) & set(week[0]["ids"])
    month = hotspots(client, days=30, top=10)["hotspots"]
    assert [h["n"] for h in month] == [2, 3] and month[1]["ids"] == old
    assert month[0]["heat"] > month[1]["heat"]  # two appeals of yesterday outrank three of three weeks ago
    assert len(hotspots(client, days=30, top=1)["hotspots"]) == 1


def test_a_merge_joins_the_group_and_an_undone_merge_leaves_it(client):
    event = [take_in(client, text).json()["id"] for text in SAME_SITE[:2]]
    stray = take_in(client, BILLBOARD).json()["id"]
    assert hotspots(client)["hotspots"][0]["ids"] == event
    merged = client.post(f"/v1/appeals/{stray}/merge", json={"into": event[0]}, headers=AS_DISPATCHER)
    assert merged.status_code == 200, merged.text
    assert stray in hotspots(client)["hotspots"][0]["ids"]
    board = client.app.state.hotspots
    assert board.rebuilds == 1
    client.delete(f"/v1/appeals/{stray}/merge", headers=AS_DISPATCHER)
    assert hotspots(client)["hotspots"][0]["ids"] == event
    assert board.rebuilds == 2  # a union cannot be undone: read again once


def test_a_restarted_service_finds_the_same_hot_issues(client, make_client):
    event = [take_in(client, text).json()["id"] for text in SAME_SITE]
    restarted = make_client(make_stub_dispatcher(), api_keys=WITH_SUPERVISOR)
    assert hotspots(restarted)["hotspots"][0]["ids"] == event


def test_roles_and_bad_parameters(client):
    assert hotspots(client, headers=AS_ADMIN)["hotspots"] == []
    assert client.get("/v1/hotspots").status_code == 401
    assert client.get("/v1/hotspots", headers=AS_DISPATCHER).status_code == 403
    for bad in ({"days": 0}, {"days": 91}, {"top": 0}, {"top": "ten"}):
        answer = client.get("/v1/hotspots", params=bad, headers=AS_SUPERVISOR)
        assert answer.status_code == 422 and next(iter(bad)) in answer.json()["message"]


def test_the_supervisors_page_is_served_with_the_consoles_headers(client):
    page = client.get("/console/hotspots")
    assert page.status_code == 200 and "热点问题" in page.text and "/static/hotspots.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/hotspots.js").status_code == 200
