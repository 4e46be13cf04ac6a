"""The work queue (``GET /v1/appeals``): order, keyset pages, filters and Chinese full-text search
(stub model, both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from serve_helpers import AS_DISPATCHER, NOISE, take_in, urgent_lists

GAS = "A7县某小区燃气管道漏气，楼道里气味很重，担心爆炸，请马上派人检查。"
SCHOOL = "A5区某学校门口早晚高峰车辆乱停，学生过马路很危险。"
BUS = "A市12路公交车经常晚点，司机态度恶劣。"


def listing(client, **params) -> dict:
    r = client.get("/v1/appeals", params=params, headers=AS_DISPATCHER)
    assert r.status_code == 200, r.text
    return r.json()


def ids(page: dict) -> list[str]:
    return [item["id"] for item in page["items"]]


@pytest.fixture
def urgent_client(make_client, stub_dispatcher, tmp_path):
    """The stub model with an SLA list in which 城乡建设 (燃气, 小区 …) is urgent."""
    from minyi_nlp.dispatch import Dispatcher

    return make_client(Dispatcher(stub_dispatcher.bundle, lists=urgent_lists(tmp_path)))


def test_pending_queue_is_urgent_first_then_soonest_due(urgent_client):
    client = urgent_client
    now = datetime.now(UTC)
    late = take_in(client, SCHOOL, received_at=(now - timedelta(days=1)).isoformat()).json()
    early = take_in(client, BUS, received_at=(now - timedelta(days=6)).isoformat()).json()
    newest = take_in(client, NOISE).json()
    gas = take_in(client, GAS).json()  # urgent (燃气供应): 1 working day, but first because urgent
    page = listing(client)
    # each deadline is read with the appeal's finest sure sub-category key (环境污染 …: fewer working days
    # than the default), so after the urgent one the queue follows the stored due times
    assert ids(page)[0] == gas["id"] and set(ids(page)) == {gas["id"], early["id"], late["id"], newest["id"]}
    rest = page["items"][1:]
    assert not any(item["urgent"] for item in rest)
    assert [item["due_at"] for item in rest] == sorted(item["due_at"] for item in rest)
    assert ids(page).index(early["id"]) < ids(page).index(late["id"])
    first = page["items"][0]
    assert first["urgent"] is True and first["category"] == "城乡建设"
    assert first["suggested_route"]["department"] and first["title"] is None and "燃气" in first["snippet"]
    assert "contact" not in first and "content" not in first
    dues = [item["due_at"] for item in page["items"][1:]]
    assert dues == sorted(dues)


def test_keyset_pages_cover_every_appeal_once(client):
    made = [take_in(client, f"{NOISE}第{i}次反映。", received_at=(datetime.now(UTC) - timedelta(hours=i)).isoformat())
            .json()["id"] for i in range(7)]
    take_in(client, GAS)
    seen, cursor, pages = [], None, 0
    while True:
        page = listing(client, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 8 == len(set(seen)) and set(made) < set(seen)
    assert seen == ids(listing(client, limit=50))
    everything = listing(client, status="all", limit=5)
    rest = listing(client, status="all", limit=5, cursor=everything["next_cursor"])
    assert len(ids(everything) + ids(rest)) == 8 and rest["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "WyJkZWNpZGVkIixbbnVsbCwxXV0"])
def test_a_cursor_this_list_never_gave_is_404(client, cursor):
    r = client.get("/v1/appeals", params={"cursor": cursor}, headers=AS_DISPATCHER)
    assert r.status_code == 404 and r.json()["message"].startswith("cursor:")


def test_filters(urgent_client):
    client = urgent_client
    now = datetime.now(UTC)
    noise = take_in(client, NOISE, channel="wechat", received_at=(now - timedelta(days=2)).isoformat()).json()
    gas = take_in(client, GAS, channel="12345").json()
    school = take_in(client, SCHOOL, channel="12345").json()
    assert ids(listing(client, category="环境保护")) == [noise["id"]]
    assert ids(listing(client, jurisdiction="A3区")) == [noise["id"]]  # its street lies in A3区
    assert ids(listing(client, jurisdiction="A3区洋湖街道")) == [noise["id"]]
    assert ids(listing(client, jurisdiction="A3")) == [noise["id"]]
    assert ids(listing(client, jurisdiction="%")) == []  # LIKE wildcards are literal
    assert ids(listing(client, urgent="true")) == [gas["id"]]
    assert set(ids(listing(client, urgent="false"))) == {noise["id"], school["id"]}
    assert set(ids(listing(client, channel="12345"))) == {gas["id"], school["id"]}
    assert ids(listing(client, until=(now - timedelta(days=1)).isoformat())) == [noise["id"]]
    assert noise["id"] not in ids(listing(client, since=(now - timedelta(hours=1)).isoformat()))
    assert listing(client, status="decided")["items"] == []


def test_chinese_full_text_search(client):
    noise = take_in(client, NOISE + "联系电话13812345678", title="工地夜间施工扰民").json()
    school = take_in(client, SCHOOL).json()
    gas = take_in(client, GAS).json()
    assert ids(listing(client, q="噪音", status="all")) == [noise["id"]]
    assert ids(listing(client, q="夜间施工", status="all")) == [noise["id"]]  # words of the title
    assert ids(listing(client, q="洋湖", status="all")) == [noise["id"]]  # part of a word (洋湖街道)
    assert ids(listing(client, q="学校门口", status="all")) == [school["id"]]
    assert ids(listing(client, q="燃气 漏气", status="all")) == [gas["id"]]
    assert ids(listing(client, q="噪音 学校", status="all")) == []  # every word must match
    assert ids(listing(client, q="13812345678", status="all")) == []  # only the masked text is searched
    assert ids(listing(client, q="，。！", status="all")) == []
    assert ids(listing(client, q="噪音")) == [noise["id"]]  # and within the queue
    client.post(f"/v1/appeals/{noise['id']}/decision", json={"dispatcher": "张三", "accepted_rank": 1},
                headers=AS_DISPATCHER)
    assert ids(listing(client, q="噪音")) == []
    assert ids(listing(client, q="噪音", status="decided")) == [noise["id"]]


def test_decided_today(client):
    a, b, c = (take_in(client, text).json()["id"] for text in (NOISE, SCHOOL, BUS))
    for aid in (a, b):
        r = client.post(f"/v1/appeals/{aid}/decision", json={"dispatcher": "张三", "accepted_rank": 1},
                        headers=AS_DISPATCHER)
        assert r.status_code == 201
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    decided = listing(client, status="decided", decided_since=midnight.isoformat())
    assert ids(decided) == [b, a]  # the latest first
    assert decided["items"][0]["route"]["dispatcher"] == "张三"
    assert decided["items"][0]["route"]["how"] == "accepted"
    assert ids(listing(client)) == [c]
    assert ids(listing(client, status="decided", decided_since=(midnight + timedelta(days=1)).isoformat())) == []


def test_search_pages_walk_a_bounded_window(client, monkeypatch):
    import serve.appeal_store

    monkeypatch.setattr(serve.appeal_store, "SEARCH_WINDOW", 2)  # look at 2 matches per page
    made = [take_in(client, f"{NOISE}第{i}次。").json()["id"] for i in range(5)]
    take_in(client, SCHOOL)
    decided = made[3]
    client.post(f"/v1/appeals/{decided}/decision", json={"dispatcher": "张三", "accepted_rank": 1},
                headers=AS_DISPATCHER)
    seen, cursor, pages = [], None, 0
    while pages < 10:
        page = listing(client, q="噪音", limit=50, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        seen += ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [m for m in reversed(made) if m != decided]  # pending matches, the latest taken in first
    assert pages == 3
    with_limit = listing(client, q="噪音", status="all", limit=1)
    assert ids(with_limit) == [made[4]] and with_limit["next_cursor"]
    other_list = client.get("/v1/appeals", params={"q": "噪音", "cursor": with_limit["next_cursor"]},
                            headers=AS_DISPATCHER)
    assert other_list.status_code == 404  # a cursor belongs to its own list
