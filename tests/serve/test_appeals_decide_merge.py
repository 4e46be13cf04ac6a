"""Decisions on appeals (idempotent, 409, note, overrides checked against the lists) and merges (并单),
with the history of who did what (stub model, both databases)."""

from __future__ import annotations

import uuid

import pytest
from serve_helpers import AS_DISPATCHER, NOISE, take_in

SCHOOL = "A5区某学校门口早晚高峰车辆乱停，学生过马路很危险。"


def decide(client, aid, **body):
    return client.post(f"/v1/appeals/{aid}/decision", json={"dispatcher": "张三", **body}, headers=AS_DISPATCHER)


def detail(client, aid) -> dict:
    r = client.get(f"/v1/appeals/{aid}", headers=AS_DISPATCHER)
    assert r.status_code == 200, r.text
    return r.json()


def merge(client, child, into, **extra):
    return client.post(f"/v1/appeals/{child}/merge", json={"into": into, **extra}, headers=AS_DISPATCHER)


def test_accept_is_idempotent_and_a_different_decision_409(client):
    aid = take_in(client).json()["id"]
    r = decide(client, aid, accepted_rank=1, note="已电话联系市民13812345678，确认地址")
    assert r.status_code == 201
    d = r.json()
    assert d["accepted_rank"] == 1 and d["department"] == "生态环境局" and d["jurisdiction"] == "A3区"
    assert d["note"] == "已电话联系市民<PHONE>,确认地址"  # stored masked
    assert decide(client, aid, accepted_rank=1).status_code == 200
    conflict = decide(client, aid, accepted_rank=2)
    assert conflict.status_code == 409 and conflict.json()["decision"]["accepted_rank"] == 1
    assert decide(client, aid, department="教育局", jurisdiction="A3区").status_code == 409
    got = detail(client, aid)
    assert got["status"] == "decided" and got["decision"]["note"] == d["note"]
    assert got["route"] == {"department": "生态环境局", "jurisdiction": "A3区", "how": "accepted", "dispatcher": "张三"}
    assert [(e["action"], e["actor"]) for e in got["history"]] == [("received", "dispatcher/web"), ("decided", "张三")]


@pytest.mark.parametrize(
    ("override", "field"),
    [({"department": "不存在局", "jurisdiction": "A3区"}, "department"),
     ({"department": "教育局", "jurisdiction": "火星区"}, "jurisdiction"),
     ({"department": "教育局", "jurisdiction": "A3区附近"}, "jurisdiction"),
     ({"department": "教育局", "jurisdiction": "A3区随便街道"}, "jurisdiction"),
     ({"jurisdiction": "A3区"}, "department")],
    ids=["department", "jurisdiction", "free-text", "unknown-street", "no-department"],
)
def test_override_must_name_what_the_lists_know(client, override, field):
    aid = take_in(client).json()["id"]
    r = decide(client, aid, accepted_rank=None, **override)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}:")
    assert detail(client, aid)["status"] == "pending"


@pytest.mark.parametrize("place", ["A7县", "A市", "A3区洋湖街道", "洋湖街道", "商州区", "商洛市", None])
def test_override_to_known_places(client, place):
    aid = take_in(client).json()["id"]
    r = decide(client, aid, department="城市管理和行政执法局", jurisdiction=place)
    assert r.status_code == 201, r.text
    assert (r.json()["jurisdiction"], r.json()["accepted"]) == (place, False)


def test_unknown_appeal_is_404(client):
    for aid in (str(uuid.uuid4()), "nope"):
        assert client.get(f"/v1/appeals/{aid}", headers=AS_DISPATCHER).status_code == 404
        assert decide(client, aid, accepted_rank=1).status_code == 404
        assert merge(client, aid, str(uuid.uuid4())).status_code == 404
        assert client.delete(f"/v1/appeals/{aid}/merge", headers=AS_DISPATCHER).status_code == 404


def test_merge_follows_the_parent_and_can_be_undone(client):
    parent = take_in(client).json()["id"]
    child = take_in(client, "您好，" + NOISE + "谢谢！", channel="wechat").json()["id"]
    other = take_in(client, SCHOOL).json()["id"]
    r = merge(client, child, parent, dispatcher="李四")
    assert r.status_code == 200 and r.json()["status"] == "merged" and r.json()["changed"] is True
    assert r.json()["merged_into"] == parent
    assert merge(client, child, parent).json()["changed"] is False  # the same merge again
    assert merge(client, child, other).status_code == 409  # merged elsewhere: undo first
    assert decide(client, child, accepted_rank=1).status_code == 409  # it follows its parent
    queue = client.get("/v1/appeals", headers=AS_DISPATCHER).json()
    assert child not in [i["id"] for i in queue["items"]]
    merged = client.get("/v1/appeals?status=merged", headers=AS_DISPATCHER).json()
    assert [i["id"] for i in merged["items"]] == [child]

    assert decide(client, parent, accepted_rank=1).status_code == 201
    p, c = detail(client, parent), detail(client, child)
    assert [k["id"] for k in p["children"]] == [child]
    assert c["parent"]["id"] == parent and c["status"] == "merged"
    assert c["route"] == {"department": p["decision"]["department"], "jurisdiction": p["decision"]["jurisdiction"],
                          "how": "merged"}
    assert ("merged", "李四") in [(e["action"], e["actor"]) for e in c["history"]]
    assert "child_merged" in [e["action"] for e in p["history"]]

    undone = client.delete(f"/v1/appeals/{child}/merge", params={"dispatcher": "李四"}, headers=AS_DISPATCHER)
    assert undone.status_code == 200 and undone.json()["status"] == "pending" and undone.json()["changed"]
    assert client.delete(f"/v1/appeals/{child}/merge", headers=AS_DISPATCHER).json()["changed"] is False
    assert detail(client, parent)["children"] == []
    assert [e["action"] for e in detail(client, child)["history"]][-1] == "unmerged"
    assert decide(client, child, accepted_rank=1).status_code == 201


def test_merge_rules(client):
    a, b, c = (take_in(client, f"{NOISE}（第{i}次）").json()["id"] for i in range(3))
    r = merge(client, a, a)
    assert r.status_code == 409 and r.json()["message"].startswith("into:")
    for unknown in (str(uuid.uuid4()), "nope"):
        r = merge(client, a, unknown)
        assert r.status_code == 404 and r.json()["message"] == "into: unknown appeal"
    assert merge(client, b, a).status_code == 200
    assert merge(client, c, b).json()["merged_into"] == a  # into a merged appeal: into its parent
    assert merge(client, a, c).status_code == 409  # c's parent is a: that would be a loop
    d = take_in(client).json()["id"]
    assert merge(client, a, d).status_code == 409  # a has children
    assert decide(client, d, accepted_rank=1).status_code == 201
    assert merge(client, d, a).status_code == 409  # d is decided
