"""The small parts behind ``/v1/appeals``: feeding the similar-appeal index, plain-Chinese reasons, search
terms, the contact vault (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from serve_helpers import TINY_SIMILAR_THRESHOLD

from serve.appeal_search import _fts5, _tsquery, index_words, query_terms
from serve.pii_vault import ContactVault, PiiKeyError, load_vault
from serve.plain_reasons import plain_reason, plain_reasons
from serve.similar import (
    Encoded,
    add,
    dense_bytes,
    encode,
    fallback_embed,
    find_similar,
    from_stored,
    make_index,
    sketch_bytes,
)

NOISE = "A3区洋湖街道旁边的工地每天夜间施工到凌晨两点，噪音很大，粉尘也多，老人孩子无法休息，请尽快处理。"
AGAIN = "您好！A3区洋湖街道旁边的工地，每天夜间施工到凌晨两点，噪音很大、粉尘也多，老人孩子无法休息！谢谢。"
SCHOOL = "A3区某学校食堂饭菜不卫生，学生吃了拉肚子，请教育部门调查。"


@pytest.fixture(autouse=True)
def _tiny_threshold(monkeypatch):
    monkeypatch.setenv("MINYI_SIMILAR_THRESHOLD", TINY_SIMILAR_THRESHOLD)


def test_the_index_is_fed_the_shared_encoders_rows(stub_dispatcher):
    enc = encode(stub_dispatcher, [NOISE, AGAIN, SCHOOL])
    assert enc.sparse is not None and enc.sparse.shape[0] == 3 and enc.dense.shape[0] == 3
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    index = make_index(enc.dense.shape[1], "A市")
    add(index, ["noise", "school"], Encoded(enc.dense[[0, 2]], enc.sparse[[0, 2]], [enc.marks[0], enc.marks[2]]),
        [now - timedelta(days=2)] * 2, ["A3区洋湖街道", "A3区"])
    hits = find_similar(index, enc, 1, now, "A3区洋湖街道")
    assert [h[0] for h in hits] == ["noise"] and 0.6 <= hits[0][1] <= 1
    assert find_similar(index, enc, 1, now - timedelta(days=3), "A3区洋湖街道") == []  # before it came in


def test_stored_rows_give_the_same_answers(stub_dispatcher):
    enc = encode(stub_dispatcher, [NOISE, AGAIN, SCHOOL])
    size = 64
    stored = from_stored([dense_bytes(r) for r in enc.dense], [sketch_bytes(enc.sparse, i, size) for i in range(3)],
                         [NOISE, AGAIN, SCHOOL])
    assert np.allclose(stored.dense, enc.dense, atol=1e-3) and stored.marks == enc.marks
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    answers = []
    for rows in (enc, stored):
        index = make_index(rows.dense.shape[1], "A市")
        stored_rows = Encoded(rows.dense[[0, 2]], rows.sparse[[0, 2]], [rows.marks[0], rows.marks[2]])
        add(index, ["noise", "school"], stored_rows, [now] * 2, ["A3区洋湖街道", "A3区"])
        answers.append(find_similar(index, enc, 1, now, "A3区洋湖街道"))
    assert [a[0] for a in answers[0]] == [a[0] for a in answers[1]] == ["noise"]
    assert answers[0][0][1] == pytest.approx(answers[1][0][1], abs=0.01)


def test_without_the_shared_encoder_dense_rows_only():
    enc = encode(object(), [NOISE, AGAIN, SCHOOL])  # neither a bundle nor embed: hashed characters
    assert enc.sparse is None and np.allclose(np.linalg.norm(enc.dense, axis=1), 1, atol=1e-5)
    assert float(enc.dense[0] @ enc.dense[1]) > float(enc.dense[0] @ enc.dense[2])
    assert np.allclose(fallback_embed([NOISE])[0], enc.dense[0])


def test_plain_reasons():
    assert plain_reason("部门模型: 0.38") == "以往同类诉求多分拨至该部门"
    assert plain_reason("职责清单: 城乡建设/城市建设和市政管理/燃气供应 (0.65) → 燃气企业") == \
        "「燃气供应」类诉求按职责清单由燃气企业办理"
    assert plain_reason("管辖地: 未提到区县, 默认 A市") == "未提到具体区县，按A市处理"
    assert plain_reason("置信度 0.41") is None
    assert plain_reason("险情联动: 燃气/煤气泄漏 → 燃气企业") == "紧急险情（燃气/煤气泄漏）由燃气企业先行处置"
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
