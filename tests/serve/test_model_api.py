"""The API with the real trained category model (slow: trains once per session)."""

from __future__ import annotations

import pandas as pd
import pytest
from serve_helpers import AS_ADMIN, AS_DISPATCHER

pytestmark = pytest.mark.slow

WEIRD_BUT_VALID = [
    "！！！？？？", "😡😡😡 路灯 🚧", "13812345678", "a", "路" * 20_000, "市民來電反映：學校門口交通擁堵，請處理。",
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
    labels = set(real_dispatcher.category.labels)
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


def test_batch_keywords_match_explain(real_dispatcher, eval_texts):
    from serve.explain import batch_keywords

    category = real_dispatcher.category
    texts = eval_texts(40)
    labels = [r[0].label for r in category.rank(texts)]
    expected = [[w for w, _ in category.explain(t, lb, 5)] for t, lb in zip(texts, labels, strict=True)]
    assert batch_keywords(category, texts, labels) == expected


def test_reload_with_the_real_loader(make_client, real_dispatcher, trained_model_dir):
    from serve.main import default_loader

    client = make_client(real_dispatcher, loader=default_loader(trained_model_dir.parent))
    r = client.post("/v1/admin/reload", headers=AS_ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["model_version"].startswith(real_dispatcher.category.version)
    assert client.post("/v1/suggestions", json={"content": "公交车晚点"}, headers=AS_DISPATCHER).status_code == 201
