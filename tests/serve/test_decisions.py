"""Decisions: stored apart from suggestions, idempotent, conflicts, export (stub model, both databases)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from serve_helpers import AS_ADMIN, AS_DISPATCHER
from sqlalchemy import create_engine, text


def new_suggestion(client, content="A3区某学校门口拥堵，电话13812345678", title="学校") -> dict:
    r = client.post("/v1/suggestions", json={"title": title, "content": content}, headers=AS_DISPATCHER)
    assert r.status_code == 201
    return r.json()


def decide(client, sid, **body):
    return client.post(f"/v1/suggestions/{sid}/decision", json=body, headers=AS_DISPATCHER)


def test_accept_is_stored_and_idempotent(client, database_url):
    s = new_suggestion(client)
    r = decide(client, s["id"], dispatcher="张三", accepted_rank=1)
    assert r.status_code == 201
    d = r.json()
    top = s["departments"][0]
    assert (d["department"], d["jurisdiction"], d["accepted_rank"], d["accepted"]) == (
        top["department"], top["jurisdiction"], 1, True)
    again = decide(client, s["id"], dispatcher="张三", accepted_rank=1,
                   department=top["department"], jurisdiction=top["jurisdiction"])
    assert again.status_code == 200 and again.json() == d
    stored = client.get(f"/v1/suggestions/{s['id']}", headers=AS_DISPATCHER).json()
    assert stored["decision"] == d
    engine = create_engine(database_url)
    with engine.connect() as conn:  # the decision lives in its own table, the suggestion is unchanged
        n = conn.execute(text("SELECT count(*) FROM decisions")).scalar_one()
        review = conn.execute(text("SELECT needs_review FROM suggestions")).scalar_one()
    engine.dispose()
    assert n == 1 and not review


def test_different_second_decision_is_409(client):
    s = new_suggestion(client)
    assert decide(client, s["id"], dispatcher="张三", accepted_rank=1).status_code == 201
    r = decide(client, s["id"], dispatcher="李四", accepted_rank=2)
    assert r.status_code == 409
    assert r.json()["decision"]["accepted_rank"] == 1
    r = decide(client, s["id"], dispatcher="李四", accepted_rank=None, department="教育局", jurisdiction="A3区")
    assert r.status_code == 409


def test_override(client):
    s = new_suggestion(client)
    r = decide(client, s["id"], dispatcher="王五", accepted_rank=None, department="公安局", jurisdiction="A3区")
    assert r.status_code == 201
    assert r.json()["accepted"] is False and r.json()["accepted_rank"] is None
    assert decide(client, s["id"], dispatcher="王五", department="公安局", jurisdiction="A3区").status_code == 200


def test_unknown_suggestion_is_404(client):
    for sid in (str(uuid.uuid4()), "does-not-exist"):
        assert decide(client, sid, dispatcher="张三", accepted_rank=1).status_code == 404


def test_concurrent_conflicting_decisions(client):
    s = new_suggestion(client)
    ranks = [1, 2] * 8
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda k: decide(client, s["id"], dispatcher="x", accepted_rank=k).status_code, ranks))
    assert codes.count(201) == 1
    assert set(codes) <= {200, 201, 409}


def test_export_jsonl_and_csv(client):
    a = new_suggestion(client, "A3区某学校食堂卫生差，电话13812345678")
    b = new_suggestion(client, "公交车总是晚点", title=None)
    c = new_suggestion(client, "物业乱收费")  # no decision: not exported
    decide(client, a["id"], dispatcher="张三", accepted_rank=1)
    decide(client, b["id"], dispatcher="李四", accepted_rank=None, department="教育局", jurisdiction="A市")
    r = client.get("/v1/decisions/export", headers=AS_ADMIN)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [row["suggestion_id"] for row in rows] == [a["id"], b["id"]]
    assert c["id"] not in r.text
    assert "13812345678" not in r.text and "<PHONE>" in rows[0]["text"]
    assert rows[0]["accepted"] is True and rows[0]["department"] == a["departments"][0]["department"]
    assert rows[1]["accepted"] is False and rows[1]["department"] == "教育局"
    assert rows[1]["category"] == "教育文体"  # implied by the override, against the model's 交通运输
    assert rows[1]["predicted_category"] == "交通运输"
    r = client.get("/v1/decisions/export?format=csv", headers=AS_ADMIN)
    assert r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [t["suggestion_id"] for t in table] == [a["id"], b["id"]]
    assert {"text", "category", "department", "accepted"} <= set(table[0])
    later = client.get("/v1/decisions/export?since=2999-01-01T00:00:00Z", headers=AS_ADMIN)
    assert later.status_code == 200 and later.text == ""


def test_decision_metrics(client):
    decide(client, new_suggestion(client)["id"], dispatcher="a", accepted_rank=1)
    decide(client, new_suggestion(client)["id"], dispatcher="a", department="教育局")
    decide(client, new_suggestion(client)["id"], dispatcher="a", department="教育局")
    m = client.get("/metrics").text
    assert 'minyi_decisions_total{outcome="accepted"} 1.0' in m
    assert 'minyi_decisions_total{outcome="overridden"} 2.0' in m
