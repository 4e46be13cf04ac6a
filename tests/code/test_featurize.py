"""The fast TF-IDF blocks give scikit-learn's numbers, on real appeal texts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from minyi_nlp.models.encoder import head_text, prepare_texts
from minyi_nlp.models.featurize import CharNgrams, WordNgrams, char_key_to_str, char_ngram_keys
from minyi_nlp.text import Segmenter


@pytest.fixture(scope="module")
def texts() -> tuple[list[str], list[str]]:
    """500 real raw appeals to fit on, 200 others to transform (prepared as the encoder does)."""
    from minyi_nlp.config import get_settings

    frame = pd.read_csv(get_settings().raw_dir / "teddy2020_c" / "fj2_raw_labeled.csv", dtype=str).dropna()
    prepared = prepare_texts(frame["text"].tolist()[:700])
    return prepared[:500], prepared[500:] + ["", "路", "A3区"]


def _strip(t: str) -> str:
    return t.replace(" ", "")


def _max_abs_diff(a, b) -> float:
    assert a.shape == b.shape
    d = (a - b).tocsr()
    return float(abs(d).max()) if d.nnz else 0.0


def _sklearn_columns(vec: TfidfVectorizer, names: list[str]) -> list[int]:
    pos = {n: i for i, n in enumerate(names)}
    return [pos[n] for n in vec.get_feature_names_out()]


@pytest.mark.parametrize(("lo", "hi"), [(1, 3), (2, 3), (1, 1), (3, 3)])
def test_char_ngrams_equal_sklearn(texts, lo, hi):
    fit, new = texts
    sk = TfidfVectorizer(analyzer="char", preprocessor=_strip, lowercase=False, ngram_range=(lo, hi), min_df=2,
                         sublinear_tf=True, dtype=np.float32).fit(fit)
    me = CharNgrams(lo, hi, min_df=2).fit([_strip(t) for t in fit])
    names = [me.feature_name(i) for i in range(me.n_features)]
    assert names == list(sk.get_feature_names_out())  # same vocabulary, same (alphabetical) column order
    assert _max_abs_diff(sk.transform(new), me.transform([_strip(t) for t in new])) < 1e-6


def test_word_ngrams_equal_sklearn(texts):
    fit, new = texts
    seg = Segmenter("rjieba")
    sk = TfidfVectorizer(tokenizer=seg, lowercase=False, token_pattern=None, ngram_range=(1, 2), min_df=2,
                         sublinear_tf=True, dtype=np.float32).fit(fit)
    me = WordNgrams(2, min_df=2).fit([seg(t) for t in fit])
    names = [me.feature_name(i) for i in range(me.n_features)]
    assert sorted(names) == sorted(sk.get_feature_names_out())
    cols = _sklearn_columns(sk, names)
    assert _max_abs_diff(sk.transform(new), me.transform([seg(t) for t in new])[:, cols]) < 1e-6


def test_title_block_equals_sklearn_on_the_head(texts):
    fit, new = texts
    seg = Segmenter("rjieba")
    sk = TfidfVectorizer(preprocessor=lambda t: head_text(t, 40), tokenizer=seg, lowercase=False,
                         token_pattern=None, ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                         dtype=np.float32).fit(fit)
    me = WordNgrams(2, min_df=2).fit([seg(head_text(t, 40)) for t in fit])
    names = [me.feature_name(i) for i in range(me.n_features)]
    cols = _sklearn_columns(sk, names)
    assert _max_abs_diff(sk.transform(new), me.transform([seg(head_text(t, 40)) for t in new])[:, cols]) < 1e-6


def test_max_features_keeps_the_most_frequent_terms(texts):
    """With a cap, the kept terms are sklearn's up to ties at the cut-off count (sklearn breaks ties
    arbitrarily, we by key)."""
    fit, _ = texts
    full = CharNgrams(1, 3, min_df=2).fit([_strip(t) for t in fit])
    capped = CharNgrams(1, 3, min_df=2, max_features=5000).fit([_strip(t) for t in fit])
    sk = TfidfVectorizer(analyzer="char", preprocessor=_strip, lowercase=False, ngram_range=(1, 3), min_df=2,
                         max_features=5000).fit(fit)
    mine = {capped.feature_name(i) for i in range(capped.n_features)}
    theirs = set(sk.get_feature_names_out())
    assert len(mine) == len(theirs) == 5000
    total: dict[str, int] = {}
    for t in fit:
        s = _strip(t)
        for n in (1, 2, 3):
            for i in range(len(s) - n + 1):
                total[s[i:i + n]] = total.get(s[i:i + n], 0) + 1
    cut = min(total[t] for t in mine)
    assert all(total[t] == cut for t in mine ^ theirs)  # they differ only at the cut-off count
    assert full.n_features > capped.n_features


def test_keys_round_trip_and_sort_like_strings():
    docs = ["路灯不亮", "𠀀好", "a"]
    d, k = char_ngram_keys(docs, 1, 3)
    keys = np.unique(k)
    grams = [char_key_to_str(int(x)) for x in keys]
    assert grams == sorted(grams)  # key order is string order
    assert {"𠀀好", "路灯不", "灯不亮", "a"} <= set(grams)
    assert "亮𠀀" not in grams and "好a" not in grams  # no n-gram across documents
    assert d.tolist().count(2) == 1  # "a": one unigram


def test_unknown_words_and_empty_documents():
    w = WordNgrams(2, min_df=1).fit([["路灯", "不亮"], ["路灯", "坏了"]])
    X = w.transform([[], ["没见过"], ["路灯", "不亮"]])
    assert X.shape == (3, w.n_features)
    assert X[0].nnz == 0 and X[1].nnz == 0
    assert np.linalg.norm(X[2].toarray()) == pytest.approx(1.0)


def test_both_key_indexes_agree_with_a_dict():
    import pandas as pd

    from minyi_nlp.models.featurize import KeyIndex, _KeyIndex

    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 2**62, 20_000, dtype=np.uint64))
    query = np.concatenate([keys[rng.integers(0, len(keys), 60_000)], rng.integers(0, 2**62, 5_000, dtype=np.uint64),
                            np.array([0], np.uint64)])
    expected = pd.Series(range(len(keys)), index=keys).reindex(query).fillna(-1).astype(np.int64).to_numpy()
    assert (KeyIndex(keys).lookup(query) == expected).all()
    index = _KeyIndex(keys)
    assert (index.lookup(query) == expected).all()  # large: pandas
    assert (index.lookup(query[:100]) == expected[:100]).all()  # small: NumPy
    assert KeyIndex(np.zeros(0, np.uint64)).lookup(query[:3]).tolist() == [-1, -1, -1]


@pytest.mark.parametrize("opening", ["", "尊敬的领导：您好！", "您好，", "领导好！", "你好！我想反映一个问题。",
                                     "书记您好：", "市长您好，我要投诉："])
def test_the_title_block_skips_a_leading_salutation(opening):
    assert head_text(opening + "A市B区某小区施工噪音扰民严重，晚上十点还在施工", 40) == "A市B区某小区施工噪音扰民严重"


def test_a_title_that_starts_with_hao_is_kept():
    assert head_text("好几天没有来水了，请尽快处理", 40) == "好几天没有来水了"


def _same(a, b) -> None:
    """Two blocks' triplets, bit for bit."""
    assert (a.n_rows, a.n_cols) == (b.n_rows, b.n_cols)
    for name in ("rows", "cols", "data"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


ODD = ["", "   ", "路", "！！", "\x00路灯\x00", "𠀀好a", "电话<phone>和<PHONE>,我叫<NAME>", "<ID>"]


def test_unfiltered_tokens_give_the_word_block_of_the_kept_ones(texts):
    """Dropping and looking tokens up in one pass (the encoder's way) is the block of the segmenter's tokens."""
    fit, new = texts
    seg = Segmenter("rjieba")
    for view in (str, lambda t: head_text(t, 40)):  # the word block and the title block
        block = WordNgrams(2, min_df=2).fit([seg(view(t)) for t in fit])
        docs = [view(t) for t in new] + ODD
        codes = block.token_codes(seg.kept)
        for _ in range(2):  # the memo empty, then full
            _same(block.triplets([seg(t) for t in docs]),
                  block.triplets_unfiltered([seg.unfiltered(t) for t in docs], codes))
        _same(block.triplets([]), block.triplets_unfiltered([], codes))


@pytest.mark.parametrize(("lo", "hi"), [(1, 3), (2, 3), (1, 1), (3, 3), (1, 2)])
def test_char_block_is_the_plain_lookup_of_every_ngram(texts, lo, hi):
    """Per-n look-ups over the documents read end to end are the look-up of each n-gram in the whole vocabulary,
    for a large batch (pandas) and a small one (NumPy)."""
    from minyi_nlp.models.featurize import KeyIndex, tfidf_triplets

    fit, new = texts
    me = CharNgrams(lo, hi, min_df=2).fit([_strip(t) for t in fit] + ["𠀀好a", "𠀀好a"])
    index = KeyIndex(me.keys_)
    for docs in ([_strip(t) for t in new] + ODD, ODD, ODD[4:6], []):
        d, k = char_ngram_keys(docs, lo, hi)
        _same(me.triplets(docs), tfidf_triplets(d, index.lookup(k), len(docs), me.idf_))


def test_encoder_vectors_are_the_blocks_of_the_segmented_texts(texts):
    from minyi_nlp.models.encoder import Encoder
    from minyi_nlp.models.featurize import assemble
    from minyi_nlp.params import EncoderParams

    fit, new = texts
    enc = Encoder(EncoderParams(min_df=2, max_features=None)).fit(fit)
    docs = new + ODD
    words, chars, head = enc._inputs(docs)
    blocks = [enc.words.triplets(words), enc.chars.triplets(chars), enc.head.triplets(head)]
    expected = assemble(blocks, [1.0, 1.0, enc.params.head_weight])
    got = enc.transform_prepared(docs)
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
