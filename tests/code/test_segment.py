"""Segmenter: domain dictionary, placeholders, stop words, pickling, scikit-learn use, rjieba."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer

from minyi_nlp.config import get_settings
from minyi_nlp.text import Segmenter, preprocess, tokenize
from minyi_nlp.text.segment import load_stopwords, read_userdict

REPO = Path(__file__).resolve().parents[2]
DOCS = [
    preprocess(t)
    for t in [
        "尊敬的领导您好！A7县城市管理和行政执法局对占道经营不作为，谢谢！",
        "某公司拖欠工资半年，农民工讨薪无门，我叫张三，电话13912345678。",
        "A3区洋湖街道某小区路灯不亮已经三个月了，希望尽快维修。",
        "咨询A市教育局关于学位和入学划片的政策，请问学区房怎么认定？",
    ]
]


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter()


def test_domain_words_stay_whole(seg: Segmenter) -> None:
    tokens = seg("A7县城市管理和行政执法局对占道经营不作为,某公司拖欠工资,工资拖欠")
    for word in ("A7县", "城市管理和行政执法局", "占道经营", "不作为", "拖欠工资", "工资拖欠"):
        assert word in tokens


def test_without_user_dict_the_department_is_split() -> None:
    tokens = Segmenter(user_dict=False)("城市管理和行政执法局")
    assert "城市管理和行政执法局" not in tokens


def test_placeholders_are_single_tokens(seg: Segmenter) -> None:
    tokens = seg("我叫<NAME>,电话<PHONE>,车牌<PLATE>,身份证<ID>,<EMAIL><BANKCARD>")
    for ph in ("<NAME>", "<PHONE>", "<PLATE>", "<ID>", "<EMAIL>", "<BANKCARD>"):
        assert tokens.count(ph) == 1
    assert not any(t in {"<", ">", "PHONE", "NAME"} for t in tokens)


def test_lowercased_placeholders_stay_whole(seg: Segmenter) -> None:
    assert seg("电话<phone>和<PHONE>") == ["电话", "<phone>", "<PHONE>"]


def test_set_params_and_grid_search_style_access() -> None:
    vec = TfidfVectorizer(tokenizer=Segmenter(), lowercase=False, token_pattern=None)
    assert vec.get_params()["tokenizer__backend"] == "jieba"
    vec.set_params(tokenizer__min_len=2)
    assert vec.tokenizer == Segmenter(min_len=2)
    with pytest.raises(ValueError, match="invalid parameter"):
        Segmenter().set_params(colour="red")


def test_stop_words_punctuation_and_spaces_dropped(seg: Segmenter) -> None:
    tokens = seg("尊敬的领导您好!  路灯不亮,谢谢。")
    assert tokens == ["路灯", "不亮"]
    assert Segmenter(stopwords=False)("路灯的问题") == ["路灯", "的", "问题"]


def test_negations_are_not_stop_words(seg: Segmenter) -> None:
    stop = load_stopwords()
    assert not {"不", "没有", "无", "未", "不亮"} & stop
    assert "没有" in seg("物业没有回复")


def test_min_len_drops_short_tokens() -> None:
    assert all(len(t) >= 2 for t in Segmenter(min_len=2)(DOCS[1]))


def test_empty_and_whitespace(seg: Segmenter) -> None:
    assert seg("") == []
    assert seg("   ") == []


def test_resources_parse() -> None:
    entries = read_userdict()
    assert len(entries) > 300
    assert all(isinstance(freq, int) and freq > 0 for _, freq, _ in entries)
    assert ("城市管理和行政执法局", 2000, "nt") in entries


def test_pickle_round_trip_of_used_segmenter(seg: Segmenter) -> None:
    before = seg(DOCS[0])
    blob = pickle.dumps(seg)
    assert len(blob) < 500  # parameters only, never the tokenizer
    restored = pickle.loads(blob)
    assert restored == seg
    assert restored(DOCS[0]) == before


def test_unknown_backend_rejected() -> None:
    with pytest.raises(ValueError, match="backend"):
        Segmenter(backend="thulac")


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(tokenizer=Segmenter(), lowercase=False, token_pattern=None)


def test_tfidf_fit_pickle_unpickle_identical_transform() -> None:
    vec = _vectorizer().fit(DOCS)
    assert "城市管理和行政执法局" in vec.vocabulary_
    assert "<PHONE>" in vec.vocabulary_
    restored = pickle.loads(pickle.dumps(vec))
    np.testing.assert_array_equal(vec.transform(DOCS).toarray(), restored.transform(DOCS).toarray())
    cloned = clone(_vectorizer()).fit(DOCS)
    np.testing.assert_array_equal(vec.transform(DOCS).toarray(), cloned.transform(DOCS).toarray())


def test_fitted_vectorizer_loads_in_a_fresh_process(tmp_path: Path) -> None:
    vec = _vectorizer().fit(DOCS)
    (tmp_path / "vec.pkl").write_bytes(pickle.dumps(vec))
    np.save(tmp_path / "expected.npy", vec.transform(DOCS).toarray())
    (tmp_path / "docs.pkl").write_bytes(pickle.dumps(DOCS))
    script = (
        "import pickle, sys, numpy as np\n"
        "d = sys.argv[1]\n"
        "vec = pickle.load(open(d + '/vec.pkl', 'rb'))\n"
        "docs = pickle.load(open(d + '/docs.pkl', 'rb'))\n"
        "np.testing.assert_array_equal(vec.transform(docs).toarray(), np.load(d + '/expected.npy'))\n"
    )
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": pythonpath},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Building prefix dict" not in proc.stderr  # jieba start-up logging is silenced


def test_tokenize_is_a_picklable_module_function() -> None:
    assert pickle.loads(pickle.dumps(tokenize)) is tokenize
    assert "路灯" in tokenize("路灯不亮")


def test_rjieba_backend_runs_and_agrees_on_chinese(seg: Segmenter) -> None:
    pytest.importorskip("rjieba", reason="rjieba (jieba-rs binding) is not installed")
    rseg = Segmenter(backend="rjieba")
    for doc in DOCS:
        assert rseg(doc) == seg(doc)
    assert "城市管理和行政执法局" in rseg("城市管理和行政执法局")  # user dict loaded via add_word
    assert pickle.loads(pickle.dumps(rseg))(DOCS[1]) == rseg(DOCS[1])


def test_tokenize_follows_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rjieba", reason="rjieba (jieba-rs binding) is not installed")
    monkeypatch.setenv("MINYI_SEGMENTER", "rjieba")
    get_settings.cache_clear()
    try:
        assert get_settings().segmenter == "rjieba"
        assert tokenize(DOCS[2]) == Segmenter(backend="rjieba")(DOCS[2])
    finally:
        monkeypatch.delenv("MINYI_SEGMENTER")
        get_settings.cache_clear()


def test_unfiltered_tokens_less_the_dropped_ones_are_the_tokens(seg: Segmenter) -> None:
    texts = [*DOCS, "电话<phone>和<PHONE>", "<NAME>", " <ID> ", "", "   ", "尊敬的领导您好!  路灯不亮,谢谢。", "a<b>c"]
    for s in (seg, Segmenter("rjieba"), Segmenter(min_len=2), Segmenter(stopwords=False)):
        for text in texts:
            assert [t for t in s.unfiltered(text) if s.kept(t)] == s(text)
