"""POST /v1/suggestions, the batch endpoint and reading a suggestion back (stub model, both databases)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from serve_helpers import AS_DISPATCHER, make_stub_dispatcher
from sqlalchemy import create_engine, text

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"


def suggest(client, **body):
    return client.post("/v1/suggestions", json=body, headers=AS_DISPATCHER)


def test_suggestion_shape(client):
    r = suggest(client, title="学校门口", content="A3区某学校门口每天早上拥堵", channel="web")
    assert r.status_code == 201
    s = r.json()
    assert r.headers["location"] == f"/v1/suggestions/{s['id']}"
    uuid.UUID(s["id"])
    for key in ("model_version", "categories", "departments", "appeal_type", "due_at", "needs_review",
                "keywords", "review_reasons", "jurisdiction", "created_at"):
        assert key in s
    assert s["categories"][0]["label"] == "教育文体"
    assert [c["score"] for c in s["categories"]] == sorted((c["score"] for c in s["categories"]), reverse=True)
    assert [d["score"] for d in s["departments"]] == sorted((d["score"] for d in s["departments"]), reverse=True)
    assert {"department", "jurisdiction", "score", "reasons"} <= set(s["departments"][0])
    assert s["departments"][0]["jurisdiction"].startswith("A3区")
    assert s["model_version"].startswith("stub-category-1")
    assert s["keywords"][0] == "学校"  # the word that pushed hardest towards 教育文体
    assert s["needs_review"] is False


def test_explain_can_be_switched_off(client):
    assert suggest(client, content="学校门口拥堵").json()["keywords"][0] == "学校"
    r = client.post("/v1/suggestions?explain=false", json={"content": "学校门口拥堵"}, headers=AS_DISPATCHER)
    assert r.json()["keywords"] == []


def test_every_suggestion_is_stored_masked(client, database_url):
    s = suggest(client, title=f"电话{PHONE}", content=f"我的身份证{ID_NUMBER}，电话 {PHONE}，物业不修电梯",
                channel="12345").json()
    stored = client.get(f"/v1/suggestions/{s['id']}", headers=AS_DISPATCHER).json()
    assert stored["categories"] == s["categories"] and stored["decision"] is None
    assert "<PHONE>" in stored["content"] and "<ID>" in stored["content"]
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT title, content, channel, model_version, needs_review FROM suggestions"))
        dump = repr(rows.fetchall())
    engine.dispose()
    assert PHONE not in dump and ID_NUMBER not in dump
    assert "12345" in dump and "stub-category-1" in dump


def test_unknown_or_malformed_id_is_404(client):
    for sid in (str(uuid.uuid4()), "nope", "1"):
        assert client.get(f"/v1/suggestions/{sid}", headers=AS_DISPATCHER).status_code == 404


def test_batch_keeps_order_and_stores_all(client):
    items = [{"content": "学校"}, {"content": "公交晚点", "title": "公交"}, {"content": "工资拖欠"}]
    r = client.post("/v1/suggestions:batch", json={"items": items}, headers=AS_DISPATCHER)
    assert r.status_code == 201
    out = r.json()["items"]
    assert [o["categories"][0]["label"] for o in out] == ["教育文体", "交通运输", "劳动和社会保障"]
    assert len({o["id"] for o in out}) == 3
    for o in out:
        assert client.get(f"/v1/suggestions/{o['id']}", headers=AS_DISPATCHER).status_code == 200
    bare = client.post("/v1/suggestions:batch", json=items, headers=AS_DISPATCHER)  # a bare list works too
    assert bare.status_code == 201 and len(bare.json()["items"]) == 3


def test_batch_of_1000_is_accepted(client):
    r = client.post("/v1/suggestions:batch?explain=false", json=[{"content": f"路灯坏了 {i}"} for i in range(1000)],
                    headers=AS_DISPATCHER)
    assert r.status_code == 201 and len(r.json()["items"]) == 1000


def test_concurrent_requests_are_micro_batched(client):
    texts = [f"医院排队太久 {i}" for i in range(64)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda t: suggest(client, content=t), texts))
    assert all(r.status_code == 201 for r in results)
    assert len({r.json()["id"] for r in results}) == 64
    metrics = client.get("/metrics").text
    assert 'minyi_suggestions_total{endpoint="single"} 64.0' in metrics


def test_one_failing_appeal_does_not_fail_its_batch(make_client):
    client = make_client(make_stub_dispatcher(fail_on="BOOM"), raise_server_exceptions=False)
    texts = ["学校"] * 10 + ["BOOM"] + ["公交"] * 10
    with ThreadPoolExecutor(21) as pool:
        results = list(pool.map(lambda t: suggest(client, content=t), texts))
    codes = [r.status_code for r in results]
    assert codes.count(201) == 20 and codes[10] == 500



def test_an_urgent_appeal_carries_its_hazard_and_deadline(client):
    r = suggest(client, title="燃气泄漏", content="A3区洋湖街道某小区燃气泄漏，随时可能爆炸")
    assert r.status_code == 201
    s = r.json()
    assert s["urgent"] is True and s["needs_review"] is True
    assert s["review_reasons"][0].startswith("紧急: ") and "燃气" in s["review_reasons"][0]
    assert "gas" in s["urgency"]["kinds"] and s["urgency"]["score"] >= 0.5
    back = client.get(f"/v1/suggestions/{s['id']}", headers=AS_DISPATCHER).json()
    assert back["urgency"]["kinds"] == s["urgency"]["kinds"] and back["due_at"] == s["due_at"]
    calm = suggest(client, content="A2区楼下烧烤店噪音扰民").json()
    assert calm["urgent"] is False and calm["urgency"]["kinds"] == []
