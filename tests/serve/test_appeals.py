"""Intake (``POST /v1/appeals``): idempotent on (channel, external_id), masked text, the caller's contact
encrypted and shown only on the appeal's own detail; similar earlier appeals (stub encoder, both databases)."""

from __future__ import annotations

import logging
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from serve_helpers import (
    AS_ADMIN,
    AS_DISPATCHER,
    AS_INTAKE,
    CALLER,
    NOISE,
    TINY_SIMILAR_THRESHOLD,
    make_stub_dispatcher,
    take_in,
)
from sqlalchemy import create_engine, inspect, text

PHONE_IN_TEXT = "13912345678"


def dump_database(database_url: str) -> str:
    """Every stored value of every table as text (FTS shadow tables included)."""
    if database_url.startswith("sqlite"):
        con = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            return "\n".join(con.iterdump())
        finally:
            con.close()
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return "\n".join(str(row) for table in inspect(engine).get_table_names()
                             for row in conn.execute(text(f'SELECT t::text FROM "{table}" t')))
    finally:
        engine.dispose()


def test_intake_201_then_200_with_the_same_appeal(client, database_url):
    first = take_in(client, channel="wechat", external_id="wx-001", title="夜间施工噪音")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "pending" and body["channel"] == "wechat" and body["external_id"] == "wx-001"
    assert body["suggestion"]["categories"][0]["label"] == "环境保护"
    assert body["suggestion"]["departments"][0]["department"] == "生态环境局"
    assert first.headers["location"] == f"/v1/appeals/{body['id']}"
    again = take_in(client, "内容不同也算同一条", channel="wechat", external_id="wx-001")
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    other_channel = take_in(client, channel="app", external_id="wx-001")
    assert other_channel.status_code == 201 and other_channel.json()["id"] != body["id"]
    no_external_id = [take_in(client).status_code for _ in range(2)]
    assert no_external_id == [201, 201]  # without external_id nothing identifies a repeat
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM appeals")).scalar_one() == 4
        assert conn.execute(text("SELECT count(*) FROM appeals WHERE external_id = 'wx-001'")).scalar_one() == 2
    engine.dispose()


def test_concurrent_repeats_make_one_appeal(client, database_url):
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: take_in(client, channel="12345", external_id="T-77"), range(6)))
    assert sorted(r.status_code for r in answers).count(201) == 1
    assert {r.status_code for r in answers} <= {200, 201}
    assert len({r.json()["id"] for r in answers}) == 1


def test_roles_for_intake(client):
    assert take_in(client, headers=AS_INTAKE).status_code == 201  # a channel integration may take in
    assert take_in(client, headers=AS_ADMIN).status_code == 201
    assert client.post("/v1/appeals", json={"content": NOISE, "channel": "web"}).status_code == 401
    assert client.get("/v1/appeals", headers=AS_INTAKE).status_code == 403  # but not read the queue
    appeal = take_in(client).json()["id"]
    assert client.get(f"/v1/appeals/{appeal}", headers=AS_INTAKE).status_code == 403
    assert client.post(f"/v1/appeals/{appeal}/decision", json={"dispatcher": "x", "accepted_rank": 1},
                       headers=AS_INTAKE).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [({"channel": "web"}, "content"), ({"content": "路灯坏了"}, "channel"),
     ({"content": "路灯坏了", "channel": " "}, "channel"),
     ({"content": "路灯坏了", "channel": "web", "received_at": "yesterday"}, "received_at"),
     ({"content": "路灯坏了", "channel": "web", "received_at": 0}, "received_at"),
     ({"content": "路灯坏了", "channel": "web", "received_at": "2024-05-01T08:00:00"}, "received_at"),
     ({"content": "路灯坏了", "channel": "fax"}, "channel"),
     ({"content": "！！！", "channel": "web"}, "content"),
     ({"content": "路灯坏了", "channel": "web", "caller": {"phone": 13812345678}}, "caller.phone"),
     ({"content": "路灯坏了", "channel": "web", "external_id": "x" * 201}, "external_id")],
    ids=["no-content", "no-channel", "blank-channel", "bad-time", "number-time", "no-offset", "unknown-channel",
         "punctuation-only", "phone-number-type", "long-external-id"],
)
def test_bad_intake_is_422_naming_the_field(client, body, field):
    r = client.post("/v1/appeals", json=body, headers=AS_DISPATCHER)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}:")
    assert "13812345678" not in r.text


def test_text_is_masked_and_the_contact_encrypted(client, database_url, caplog):
    caplog.set_level(logging.DEBUG)
    created = take_in(client, f"{NOISE}我的电话{PHONE_IN_TEXT}。", channel="12345", external_id="C-1",
                      caller={"name": "王小明", "phone": "13700001111"}, address="A3区洋湖街道幸福小区5栋201")
    assert created.status_code == 201
    aid = created.json()["id"]
    assert "13700001111" not in created.text and "王小明" not in created.text  # not even to the channel
    detail = client.get(f"/v1/appeals/{aid}", headers=AS_DISPATCHER).json()
    assert detail["contact"] == {"name": "王小明", "phone": "13700001111", "address": "A3区洋湖街道幸福小区5栋201"}
    assert PHONE_IN_TEXT not in detail["content"] and "<PHONE>" in detail["content"]
    assert client.get(f"/v1/appeals/{aid}", headers=AS_ADMIN).json()["contact"]["phone"] == "13700001111"
    client.post(f"/v1/appeals/{aid}/decision", json={"dispatcher": "李四", "accepted_rank": 1}, headers=AS_DISPATCHER)
    others = [client.get("/v1/appeals?status=all", headers=AS_DISPATCHER).text,
              client.get("/v1/appeals?status=decided", headers=AS_DISPATCHER).text,
              client.get("/v1/decisions/export", headers=AS_ADMIN).text,
              client.get("/v1/decisions/export?format=csv", headers=AS_ADMIN).text,
              client.get(f"/v1/suggestions/{aid}", headers=AS_DISPATCHER).text,
              client.get("/metrics").text, caplog.text, dump_database(database_url)]
    for where, seen in enumerate(others):
        for secret in ("13700001111", "王小明", "幸福小区5栋201", PHONE_IN_TEXT):
            assert secret not in seen, (where, secret)
    assert "<PHONE>" in others[2]  # the export has the masked text
    assert 'minyi_suggestions_total{endpoint="appeals"} 1.0' in others[5]


def test_contact_needs_the_key_it_was_written_with(make_client, tmp_path):
    from cryptography.fernet import Fernet

    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    first = make_client(make_stub_dispatcher(), pii_key=key_a)
    aid = take_in(first, caller=CALLER).json()["id"]
    assert first.get(f"/v1/appeals/{aid}", headers=AS_DISPATCHER).json()["contact"]["phone"] == CALLER["phone"]
    rotated = make_client(make_stub_dispatcher(), pii_key=f"{key_b},{key_a}")  # new key first, old still reads
    assert rotated.get(f"/v1/appeals/{aid}", headers=AS_DISPATCHER).json()["contact"]["name"] == CALLER["name"]
    wrong = make_client(make_stub_dispatcher(), pii_key=key_b)
    assert wrong.get(f"/v1/appeals/{aid}", headers=AS_DISPATCHER).json()["contact"] is None


def test_generated_key_file_is_private(make_client, tmp_path):
    import stat

    take_in(make_client(make_stub_dispatcher(), pii_key_file=tmp_path / "keys" / "pii.key"), caller=CALLER)
    assert stat.S_IMODE((tmp_path / "keys" / "pii.key").stat().st_mode) == 0o600


def test_similar_earlier_appeals(make_client, monkeypatch):
    monkeypatch.setenv("MINYI_SIMILAR_THRESHOLD", TINY_SIMILAR_THRESHOLD)
    client = make_client(make_stub_dispatcher())
    now = datetime.now(UTC)
    first = take_in(client, channel="12345", received_at=(now - timedelta(days=3)).isoformat()).json()
    unrelated = take_in(client, "A3区某学校食堂饭菜不卫生，学生吃了拉肚子，请教育部门调查。").json()
    elsewhere = take_in(client, NOISE.replace("A3区洋湖街道", "A5区")).json()
    stale = take_in(client, NOISE, received_at=(now - timedelta(days=45)).isoformat()).json()
    reworded = ("您好！A3区洋湖街道旁边的工地，每天夜间施工到凌晨两点，噪音很大、粉尘也多，老人孩子无法休息！"
                "请尽快处理，谢谢。电话13600001234")
    again = take_in(client, reworded, channel="wechat")
    assert again.status_code == 201
    similar = again.json()["similar"]
    ids = [s["id"] for s in similar]
    assert first["id"] in ids
    assert unrelated["id"] not in ids
    assert stale["id"] not in ids  # outside the 30-day window
    top = similar[0]
    assert top["id"] == first["id"] and 0.6 <= top["score"] <= 1
    if elsewhere["id"] in ids:  # another district is a penalty (the router can be wrong), not a filter
        assert next(s["score"] for s in similar if s["id"] == elsewhere["id"]) < top["score"]
    assert top["jurisdiction"] == "A3区洋湖街道" and top["received_at"].startswith(first["received_at"][:16])
    assert top["route"] is None  # not dispatched yet
    client.post(f"/v1/appeals/{first['id']}/decision", json={"dispatcher": "张三", "accepted_rank": None,
                                                             "department": "城市管理和行政执法局",
                                                             "jurisdiction": "A3区"}, headers=AS_DISPATCHER)
    detail = client.get(f"/v1/appeals/{again.json()['id']}", headers=AS_DISPATCHER).json()
    assert detail["similar"][0]["route"]["department"] == "城市管理和行政执法局"
    routes = {d["department"]: d["explanation"] for d in detail["suggestion"]["departments"]}
    assert routes["城市管理和行政执法局"][0] == "相似诉求曾分拨至A3区城市管理和行政执法局"


def test_window_is_configurable(make_client, monkeypatch):
    monkeypatch.setenv("MINYI_SIMILAR_WINDOW_DAYS", "2")
    client = make_client(make_stub_dispatcher())
    now = datetime.now(UTC)
    old = take_in(client, received_at=(now - timedelta(days=3)).isoformat()).json()
    recent = take_in(client, received_at=(now - timedelta(days=1)).isoformat()).json()
    ids = [s["id"] for s in take_in(client).json()["similar"]]
    assert recent["id"] in ids and old["id"] not in ids


def test_index_is_rebuilt_from_the_database(make_client, database_url, stub_dispatcher):
    first = make_client(make_stub_dispatcher())
    original = take_in(first, channel="web").json()["id"]
    restarted = make_client(make_stub_dispatcher())  # a new process: the index comes from stored vectors
    assert original in [s["id"] for s in take_in(restarted, channel="app").json()["similar"]]
    engine = create_engine(database_url)
    with engine.begin() as conn:  # vectors of another encoder are recomputed at start-up
        conn.execute(text("UPDATE appeals SET vector_version = 'older-encoder', vector = NULL"))
    again = make_client(make_stub_dispatcher())
    with engine.connect() as conn:
        versions = set(conn.execute(text("SELECT vector_version FROM appeals")).scalars())
        sketches = conn.execute(text("SELECT count(*) FROM appeals WHERE sketch IS NULL")).scalar_one()
    engine.dispose()
    assert versions == {stub_dispatcher.bundle.version} and sketches == 0  # the bundle's encoder made them
    assert original in [s["id"] for s in take_in(again, channel="app").json()["similar"]]


def test_plain_words_for_dispatchers(client):
    detail = client.get(f"/v1/appeals/{take_in(client).json()['id']}", headers=AS_DISPATCHER).json()
    top = detail["suggestion"]["departments"][0]
    # the duty list was read with the finest sure key under 环境保护; the words name its last level
    key = next(r for r in top["reasons"] if r.startswith("职责清单:")).split(":")[1].split("(")[0].strip()
    assert key.split("/")[0] == "环境保护"
    assert top["explanation"][0] == f"「{key.split('/')[-1]}」类诉求按职责清单由生态环境局办理"
    assert "诉求中提到A3区洋湖街道" in top["explanation"]
    lines = [line for route in detail["suggestion"]["departments"] for line in route["explanation"]]
    assert lines and not [line for line in lines if re.search(r"\d\.\d|模型|职责清单:", line)]


def test_old_suggestion_endpoints_still_work(client):
    aid = take_in(client).json()["id"]
    assert client.get(f"/v1/suggestions/{aid}", headers=AS_DISPATCHER).json()["id"] == aid
    r = client.post(f"/v1/suggestions/{aid}/decision", json={"dispatcher": "张三", "accepted_rank": 2},
                    headers=AS_DISPATCHER)
    assert r.status_code == 201
    detail = client.get(f"/v1/appeals/{aid}", headers=AS_DISPATCHER).json()
    assert detail["status"] == "decided" and detail["decision"]["accepted_rank"] == 2
    assert [e["action"] for e in detail["history"]] == ["received", "decided"]
    assert client.post("/v1/suggestions", json={"content": NOISE}, headers=AS_DISPATCHER).status_code == 201
    assert client.get("/v1/appeals?status=all", headers=AS_DISPATCHER).json()["items"][0]["id"] == aid


def test_405_names_every_method_of_the_path(client):
    r = client.request("OPTIONS", "/v1/appeals", headers=AS_DISPATCHER)
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) >= {"GET", "POST"}
    aid = take_in(client).json()["id"]
    r = client.put(f"/v1/appeals/{aid}/merge", headers=AS_DISPATCHER)
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"DELETE", "POST"}


def test_a_time_in_the_future_counts_as_now(client):
    r = take_in(client, received_at="2999-01-01T00:00:00Z")
    assert r.status_code == 201
    received = datetime.fromisoformat(r.json()["received_at"])
    assert abs((received - datetime.now(UTC)).total_seconds()) < 60
