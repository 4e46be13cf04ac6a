"""The API contract (issue 13): what the OpenAPI document promises is what the service does, and no
personal data comes back through a channel, an override, a 404 or the access log."""

from __future__ import annotations

import logging
import stat
from datetime import datetime
from pathlib import Path

import pytest
from serve_helpers import AS_ADMIN, AS_DISPATCHER


def suggest(client, **body):
    return client.post("/v1/suggestions", json={"content": "A3区某小区门口路灯坏了", **body}, headers=AS_DISPATCHER)


# --------------------------------------------------------------------------- inputs


@pytest.mark.parametrize("channel", ["张伟13812345678", "微信号zhang_wei", "WEB", ""])
def test_channel_is_one_of_the_list(client, channel):
    r = suggest(client, channel=channel)
    assert r.status_code == 422 and r.json()["message"].startswith("channel:")
    assert "13812345678" not in r.text


def test_known_channel_is_stored(client):
    sid = suggest(client, channel="12345").json()["id"]
    assert client.get(f"/v1/suggestions/{sid}", headers=AS_DISPATCHER).json()["channel"] == "12345"


@pytest.mark.parametrize("content", ["", "   ", "\u200b\u3000", "。。。！！", "……？", "🚧🚧"])
def test_content_without_a_letter_or_digit_is_refused_like_the_cli(client, content):
    r = suggest(client, content=content)
    assert r.status_code == 422 and r.json()["message"].startswith("content:")


@pytest.mark.parametrize("dispatcher", ["", " ", "\u200b"])
def test_dispatcher_must_be_visible(client, dispatcher):
    sid = suggest(client).json()["id"]
    r = client.post(f"/v1/suggestions/{sid}/decision", json={"dispatcher": dispatcher, "accepted_rank": 1},
                    headers=AS_DISPATCHER)
    assert r.status_code == 422 and r.json()["message"].startswith("dispatcher:")


def test_due_at_has_a_time_zone(client):
    body = suggest(client).json()
    assert datetime.fromisoformat(body["due_at"]).tzinfo is not None
    stored = client.get(f"/v1/suggestions/{body['id']}", headers=AS_DISPATCHER).json()
    assert datetime.fromisoformat(stored["due_at"]).tzinfo is not None


@pytest.mark.parametrize("since", ["0.5", "1700000000", "2024-05-01", "2024-05-01T00:00:00", "2024-13-01T00:00:00Z",
                                   "yesterday"])
def test_since_must_be_an_rfc3339_date_time(client, since):
    r = client.get("/v1/decisions/export", params={"since": since}, headers=AS_ADMIN)
    assert r.status_code == 422 and r.json()["message"].startswith("since:")


@pytest.mark.parametrize("since", ["2024-05-01T00:00:00Z", "2024-05-01t08:00:00+08:00", "9999-12-31T23:59:60-05:00",
                                   "0001-01-01T00:00:00+14:00"])
def test_since_accepts_what_the_format_allows(client, since):
    assert client.get("/v1/decisions/export", params={"since": since}, headers=AS_ADMIN).status_code == 200


def test_404_does_not_echo_the_id(client):
    for path in ("/v1/suggestions/13812345678", "/v1/suggestions/00000000-0000-0000-0000-000000000000"):
        r = client.get(path, headers=AS_DISPATCHER)
        assert r.status_code == 404 and "13812345678" not in r.text and "0000-0000" not in r.text
    r = client.post("/v1/suggestions/13812345678/decision", json={"dispatcher": "x", "accepted_rank": 1},
                    headers=AS_DISPATCHER)
    assert r.status_code == 404 and "13812345678" not in r.text


@pytest.mark.parametrize(("body", "field"), [
    ({"department": "张伟13812345678"}, "department"),
    ({"department": "教育局", "jurisdiction": "幸福小区3栋2单元501室"}, "jurisdiction"),
    ({"department": "教育局", "jurisdiction": "A3区张伟家"}, "jurisdiction"),
])
def test_override_names_only_known_departments_and_places(client, body, field):
    sid = suggest(client).json()["id"]
    r = client.post(f"/v1/suggestions/{sid}/decision", json={"dispatcher": "x", **body}, headers=AS_DISPATCHER)
    assert r.status_code == 422 and r.json()["message"].startswith(f"{field}:")
    assert "13812345678" not in r.text and "501室" not in r.text
    assert client.get(f"/v1/suggestions/{sid}", headers=AS_DISPATCHER).json()["decision"] is None


@pytest.mark.parametrize("jurisdiction", [None, "A3区", "A市A3区", "商洛市", "洛南县"])
def test_override_with_a_known_place(client, jurisdiction):
    sid = suggest(client).json()["id"]
    r = client.post(f"/v1/suggestions/{sid}/decision",
                    json={"dispatcher": "x", "department": "教育局", "jurisdiction": jurisdiction},
                    headers=AS_DISPATCHER)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("body", "message"), [
    (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
    (b'{"content": ' + b"9" * 5000 + b"}", "more than 4,300 digits"),
    (b'{"content": "\xff\xfe"}', "not valid UTF-8"),
    (b'{"content": ', "invalid JSON"),
])
def test_unparseable_bodies_say_what_is_wrong(client, body, message):
    r = client.post("/v1/suggestions", content=body, headers={**AS_DISPATCHER, "Content-Type": "application/json"})
    assert r.status_code == 422 and message in r.json()["message"]


# --------------------------------------------------------------------------- the OpenAPI document


def test_openapi_documents_auth_and_links(client):
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "an API key: Authorization: Bearer <key>"}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            if path.startswith("/v1/"):
                assert "401" in op["responses"] and op.get("security") == [{"apiKey": []}], (method, path)
    assert "403" in doc["paths"]["/v1/admin/reload"]["post"]["responses"]
    assert "403" in doc["paths"]["/v1/decisions/export"]["get"]["responses"]
    links = doc["paths"]["/v1/suggestions"]["post"]["responses"]["201"]["links"]
    assert links["recordDecision"]["operationId"] == "recordDecision"
    appeal = doc["components"]["schemas"]["AppealIn"]["properties"]
    assert appeal["content"]["minLength"] == 1 and "pattern" in appeal["content"]
    decision = doc["components"]["schemas"]["DecisionIn"]["properties"]
    assert decision["dispatcher"]["minLength"] == 1
    since = next(p for p in doc["paths"]["/v1/decisions/export"]["get"]["parameters"] if p["name"] == "since")
    assert since["schema"]["format"] == "date-time" and {"type": "string"} in since["schema"]["anyOf"]


def test_docs_are_served_offline_without_a_key(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn." not in page.text
    assert "/static-offline-docs/swagger-ui-bundle.js" in page.text
    asset = client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert client.get("/redoc").status_code == 200 and "cdn." not in client.get("/redoc").text


def test_docs_can_be_switched_off(make_client, stub_dispatcher):
    client = make_client(stub_dispatcher, serve_docs=False)
    assert [client.get(p).status_code for p in ("/docs", "/redoc", "/openapi.json")] == [404, 404, 404]


# --------------------------------------------------------------------------- logs and files


def test_access_log_has_route_templates_not_paths(client, caplog):
    caplog.set_level(logging.INFO, logger="serve.access")
    client.get("/v1/suggestions/13812345678", headers=AS_DISPATCHER)
    client.get("/v1/suggestions/13812345678?x=张伟")
    lines = [r.getMessage() for r in caplog.records if r.name == "serve.access"]
    assert any("GET /v1/suggestions/{suggestion_id} 404" in line for line in lines)
    assert any("GET /v1/suggestions/{suggestion_id} 401" in line for line in lines)
    assert not any("13812345678" in line or "张伟" in line for line in lines)


def test_keys_file_readable_by_others_is_refused(tmp_path: Path):
    from serve.auth import ApiKeyError, load_api_keys

    path = tmp_path / "keys"
    assert load_api_keys(None, path)  # created 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    with pytest.raises(ApiKeyError, match="chmod 600"):
        load_api_keys(None, path)


def test_sqlite_database_is_private(tmp_path: Path):
    from serve.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'serve' / 'minyi.db'}")
    migrate(engine)
    engine.dispose()
    for f in (tmp_path / "serve").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    old = tmp_path / "old.db"
    old.write_bytes(b"")
    old.chmod(0o644)
    make_engine(f"sqlite:///{old}").dispose()
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
