"""The API with the real trained bundle (slow: trains once per session)."""

from __future__ import annotations

import pandas as pd
import pytest
from serve_helpers import AS_ADMIN, AS_DISPATCHER

pytestmark = pytest.mark.slow

WEIRD_BUT_VALID = [
    "😡😡😡 路灯 🚧", "13812345678", "a", "路" * 20_000, "市民來電反映：學校門口交通擁堵，請處理。",
    "含\x00控制\x07字符的诉求", "<script>alert(1)</script> 小区停水", "SELECT * FROM suggestions; 噪音",
    "\u202e\u200b\ufeff 反向字符 噪音扰民", "１２３４５ 全角数字 ＡＢＣ",
]


@pytest.fixture
def real_client(make_client, real_dispatcher):
    return make_client(real_dispatcher)


@pytest.fixture
def eval_texts(prepared_dir):
    """The first n held-out raw appeal texts of the session's prepare stage."""

    def texts(n: int) -> list[str]:
        return pd.read_csv(prepared_dir / "eval.csv")["text"].astype(str).head(n).tolist()

    return texts


def test_real_suggestions(real_client, real_dispatcher, eval_texts):
    labels = set(real_dispatcher.category_labels)
    for text in eval_texts(15):
        r = real_client.post("/v1/suggestions", json={"content": text, "channel": "web"}, headers=AS_DISPATCHER)
        assert r.status_code == 201, r.text
        s = r.json()
        scores = [c["score"] for c in s["categories"]]
        assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 0.01
        assert {c["label"] for c in s["categories"]} == labels
        assert s["departments"] and s["due_at"]
        assert s["model_version"] == real_dispatcher.version


def test_weird_but_valid_text_never_fails(real_client):
    for text in WEIRD_BUT_VALID:
        r = real_client.post("/v1/suggestions", json={"content": text, "title": text[:50]}, headers=AS_DISPATCHER)
        assert r.status_code == 201, (text[:20], r.text[:300])


def test_punctuation_only_content_is_refused_with_its_field(real_client):
    r = real_client.post("/v1/suggestions", json={"content": "！！！？？？"}, headers=AS_DISPATCHER)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "content"


def test_batch_matches_single(real_client, eval_texts):
    texts = eval_texts(60)
    r = real_client.post("/v1/suggestions:batch?explain=false", json=[{"content": t} for t in texts],
                         headers=AS_DISPATCHER)
    assert r.status_code == 201
    batch = r.json()["items"]
    assert len(batch) == len(texts)
    for text, b in list(zip(texts, batch, strict=True))[:5]:
        single = real_client.post("/v1/suggestions", json={"content": text}, headers=AS_DISPATCHER).json()
        assert [c["label"] for c in single["categories"]] == [c["label"] for c in b["categories"]]


def test_keywords_come_from_the_vector_that_scored_the_appeal(real_dispatcher, eval_texts):
    """A batch and single appeals give the same keywords: the explanation reads the row the heads read."""
    texts = eval_texts(40)
    batch = real_dispatcher.suggest_many([(None, t) for t in texts])
    for text, s in zip(texts[:10], batch[:10], strict=True):
        assert real_dispatcher.suggest(None, text).keywords == s.keywords
    assert sum(bool(s.keywords) for s in batch) >= 38


def test_reload_with_the_real_loader(make_client, real_dispatcher, bundle_dir):
    from serve.main import default_loader

    client = make_client(real_dispatcher, loader=default_loader(bundle_dir))
    r = client.post("/v1/admin/reload", headers=AS_ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["model_version"] == real_dispatcher.version
    assert client.post("/v1/suggestions", json={"content": "公交车晚点"}, headers=AS_DISPATCHER).status_code == 201
