"""The small parts behind ``/v1/appeals``: the exact similar-appeal index, plain-Chinese reasons, search
terms, the contact vault (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from serve.appeal_search import _fts5, _tsquery, index_words, query_terms
from serve.pii_vault import ContactVault, PiiKeyError, load_vault
from serve.plain_reasons import plain_reason, plain_reasons
from serve.similar import ExactIndex, fallback_embed, find_similar, from_bytes, same_place, to_bytes


def unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_exact_index_window_place_and_threshold():
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    index = ExactIndex(window=timedelta(days=30), min_score=0.8, default_city="A市")
    index.add("same", unit([1, 0.1, 0]), now - timedelta(days=2), "A3区洋湖街道", None)
    index.add("district", unit([1, 0.2, 0]), now - timedelta(days=1), "A3区", None)
    index.add("other-place", unit([1, 0, 0]), now - timedelta(days=1), "A5区", None)
    index.add("too-old", unit([1, 0, 0]), now - timedelta(days=31), "A3区洋湖街道", None)
    index.add("later", unit([1, 0, 0]), now + timedelta(hours=1), "A3区洋湖街道", None)
    index.add("different", unit([0, 0, 1]), now - timedelta(days=1), "A3区洋湖街道", None)
    hits = find_similar(index, unit([1, 0.1, 0]), now, "A3区洋湖街道", 5)
    assert [h[0] for h in hits] == ["same", "district"] and hits[0][1] == pytest.approx(1.0, abs=1e-3)
    assert [h[0] for h in find_similar(index, unit([1, 0.1, 0]), now, "A3区洋湖街道", 1)] == ["same"]
    assert len(index) == 6
    with pytest.raises(ValueError, match="dimension"):
        index.add("bad", unit([1, 0]), now, None, None)


def test_exact_index_grows():
    index = ExactIndex(window=timedelta(days=30), min_score=0.5)
    now = datetime.now(UTC)
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(3000, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index.add_many([str(i) for i in range(3000)], vectors, [now] * 3000, [None] * 3000)
    assert find_similar(index, vectors[2999], now, None, 1) == [("2999", pytest.approx(1.0, abs=1e-3))]


def test_same_place():
    assert same_place("A3区", "A3区洋湖街道", "A市") and same_place("A市", "A5区", "A市")
    assert same_place(None, "A5区", "A市") and not same_place("A3区", "A5区", "A市")


def test_vectors_round_trip_as_float16():
    v = fallback_embed(["A3区路灯坏了"])[0]
    assert v.dtype == np.float32 and np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(from_bytes(to_bytes(v)), v, atol=1e-3)
    near, far = fallback_embed(["您好，A3区洋湖街道路灯坏了，请维修。", "学校食堂卫生很差"])
    assert float(v @ near) > float(v @ far)


def test_plain_reasons():
    assert plain_reason("部门模型: 0.38") == "以往同类诉求多分拨至该部门"
    assert plain_reason("职责清单: 城乡建设/城市建设和市政管理/燃气供应 (0.65) → 燃气企业") == \
        "「燃气供应」类诉求按职责清单由燃气企业办理"
    assert plain_reason("管辖地: 未提到区县, 默认 A市") == "未提到具体区县，按A市处理"
    assert plain_reason("置信度 0.41") is None
    routes = [{"department": "教育局", "reasons": ["部门模型: 0.38"]}, {"department": "公安局", "reasons": []}]
    similar = [{"department": "教育局", "jurisdiction": "A3区"}]
    assert plain_reasons(routes, similar) == [["相似诉求曾分拨至A3区教育局", "以往同类诉求多分拨至该部门"], []]


def test_search_words_and_queries():
    words = index_words(["夜间施工扰民", "洋湖街道工地噪音，电话<PHONE>"])
    assert {"夜间施工", "噪音"} <= set(words) and "<phone>" not in words and "phone" not in words
    assert {"夜间", "施工", "洋湖街道", "洋湖", "湖街", "街道"} <= set(words)  # long words with their bigrams
    terms = query_terms("洋湖街道 噪音")
    assert ["噪音"] in [alt[0] for alt in terms]
    assert query_terms("，。！ ") == []
    assert _fts5([[["a\"b"]]]) == '("a""b")'
    assert _tsquery([[["it's"], ["it", "s"]]]) == "('it''s' | ('it' & 's'))"


def test_vault(tmp_path):
    from cryptography.fernet import Fernet

    vault = load_vault(None, tmp_path / "pii.key")
    token = vault.encrypt({"phone": "13812345678"})
    assert b"13812345678" not in token and vault.decrypt(token) == {"phone": "13812345678"}
    assert load_vault(None, tmp_path / "pii.key").decrypt(token) == {"phone": "13812345678"}  # key kept
    assert ContactVault([Fernet.generate_key()]).decrypt(token) is None
    with pytest.raises(PiiKeyError):
        load_vault("not-a-key", tmp_path / "unused")
