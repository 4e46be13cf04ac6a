"""Bad input is a 422 whose message names the field, never a 500, and never echoes the input."""

from __future__ import annotations

import json

import pytest
from serve_helpers import AS_DISPATCHER

SECRET = "13812345678"


def post(client, path, body=None, *, raw: bytes | None = None, content_type="application/json"):
    if raw is None:
        raw = json.dumps(body).encode("ascii")  # \u escapes: lone surrogates survive
    return client.post(path, content=raw, headers={**AS_DISPATCHER, "Content-Type": content_type})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": ""}, "content"),
        ({"content": "   \n\t\u3000\u200b "}, "content"),
        ({"content": "x" * 20_001}, "content"),
        ({}, "content"),
        ({"content": None}, "content"),
        ({"content": 12345}, "content"),
        ({"content": ["a"]}, "content"),
        ({"content": {"text": "a"}}, "content"),
        ({"content": True}, "content"),
        ({"content": "ok", "title": 5}, "title"),
        ({"content": "ok", "title": "t" * 1_001}, "title"),
        ({"content": "ok", "channel": ["web"]}, "channel"),
        ({"content": "ok", "channel": "c" * 65}, "channel"),
        ({"content": "ab\ud800cd"}, "content"),
    ],
    ids=["empty", "whitespace", "too-long", "missing", "null", "int", "list", "object", "bool", "title-int",
         "title-long", "channel-list", "channel-long", "surrogate"],
)
def test_bad_appeal_is_422_naming_the_field(client, body, field):
    r = post(client, "/v1/suggestions", body)
    assert r.status_code == 422, r.text
    data = r.json()
    assert data["message"].startswith(f"{field}:"), data
    assert any(d["field"] == field for d in data["detail"])


@pytest.mark.parametrize(("content", "says"), [
    ("", "must not be empty"),
    ("   \n\t\u3000\u200b ", "must not be empty or whitespace only"),
    ("。。。！！🚧", "has no letter, digit or CJK character (punctuation or symbols only)"),
], ids=["empty", "whitespace", "punctuation"])
def test_the_message_says_what_is_wrong_with_the_text(client, content, says):
    r = post(client, "/v1/suggestions", {"content": content})
    assert r.status_code == 422, r.text
    assert r.json()["message"] == f"content: {says}"


def test_content_of_exactly_20000_characters_is_fine(client):
    assert post(client, "/v1/suggestions", {"content": "路" * 20_000}).status_code == 201


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"{'content': 'x'}", b"\xff\xfe\x00", b"[1, 2", b"null", b"42", b'"text"', b"{\"content\": NaN}"],
    ids=["empty", "open-brace", "single-quotes", "not-utf8", "open-list", "null", "number", "string", "nan"],
)
def test_invalid_json_is_422(client, raw):
    r = post(client, "/v1/suggestions", raw=raw)
    assert r.status_code == 422, r.text
    assert r.json()["message"]


def test_wrong_content_type_is_422(client):
    r = post(client, "/v1/suggestions", raw=b"content=hello", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 422


def test_errors_do_not_echo_personal_data(client):
    r = post(client, "/v1/suggestions", {"content": f"call {SECRET}", "title": ["x"]})
    assert r.status_code == 422
    assert SECRET not in r.text


def test_batch_limits(client):
    item = {"content": "公交站台破损"}
    r = post(client, "/v1/suggestions:batch", {"items": [item] * 1_001})
    assert r.status_code == 422 and r.json()["message"].startswith("items:")
    r = post(client, "/v1/suggestions:batch", {"items": []})
    assert r.status_code == 422 and r.json()["message"].startswith("items:")
    r = post(client, "/v1/suggestions:batch", {"items": [item, {"content": " "}, item]})
    assert r.status_code == 422 and r.json()["message"].startswith("items[1].content:")
    r = post(client, "/v1/suggestions:batch", {"items": "not a list"})
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dispatcher": "张三", "accepted_rank": 0}, "accepted_rank"),
        ({"dispatcher": "张三", "accepted_rank": "1"}, "accepted_rank"),
        ({"dispatcher": "张三", "accepted_rank": True}, "accepted_rank"),
        ({"dispatcher": "张三", "accepted_rank": 1.5}, "accepted_rank"),
        ({"dispatcher": "张三", "accepted_rank": None}, "department"),
        ({"dispatcher": "张三", "accepted_rank": 1, "department": "不是这个部门"}, "department"),
        ({"dispatcher": " ", "accepted_rank": 1}, "dispatcher"),
        ({"accepted_rank": 1}, "dispatcher"),
        ({"dispatcher": "张三", "department": 7}, "department"),
    ],
)
def test_bad_decision_is_422_naming_the_field(client, body, field):
    sid = post(client, "/v1/suggestions", {"content": "学校食堂卫生差"}).json()["id"]
    r = post(client, f"/v1/suggestions/{sid}/decision", body)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}:"), r.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dispatcher": "张三", "accepted_rank": 99}, "accepted_rank"),
        ({"dispatcher": "张三", "accepted_rank": 1, "department": "公安局"}, "department"),
        ({"dispatcher": "张三", "accepted_rank": 1, "jurisdiction": "Z9区"}, "jurisdiction"),
    ],
)
def test_decision_contradicting_the_suggestion_is_409_naming_the_field(client, body, field):
    sid = post(client, "/v1/suggestions", {"content": "学校食堂卫生差"}).json()["id"]
    r = post(client, f"/v1/suggestions/{sid}/decision", body)
    assert r.status_code == 409, r.text
    assert r.json()["message"].startswith(f"{field}:"), r.json()


def test_bad_query_parameters_are_422(client):
    from serve_helpers import AS_ADMIN

    assert client.get("/v1/decisions/export?format=xml", headers=AS_ADMIN).status_code == 422
    assert client.get("/v1/decisions/export?since=yesterday", headers=AS_ADMIN).status_code == 422
    assert client.get("/v1/decisions/export?min_share=2", headers=AS_ADMIN).status_code == 422
    assert post(client, "/v1/suggestions?explain=perhaps", {"content": "x"}).status_code == 422
