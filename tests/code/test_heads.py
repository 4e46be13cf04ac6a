"""A head's own fast prediction equals scikit-learn's, for every calibration; keyword rules; persistence."""

from __future__ import annotations

import numpy as np
import pytest

from minyi_nlp.models.encoder import Encoder
from minyi_nlp.models.heads import KeywordRules, LinearHead
from minyi_nlp.params import EncoderParams, HeadParams

TEXTS = {
    "城乡建设": ["小区路灯不亮", "物业乱收费", "小区电梯坏了", "路面坑洼没人修", "小区垃圾没人清理", "楼道灯坏了"],
    "教育文体": ["学校乱收补课费", "老师体罚学生", "幼儿园收费太高", "学校食堂卫生差", "孩子入学难", "学位不够"],
    "交通运输": ["公交车不进站", "出租车拒载", "公交司机态度差", "公交线路太少", "出租车绕路", "公交站牌损坏"],
}
PROBE = ["小区路灯坏了", "学校收费", "公交车", "完全无关的话", ""]


@pytest.fixture(scope="module")
def data():
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [c for c, ts in TEXTS.items() for _ in ts]
    enc = Encoder(EncoderParams(min_df=1, max_features=None)).fit(texts)
    return enc, enc.transform(texts), labels


def _sklearn_model(params: HeadParams, X, y, cols):
    from minyi_nlp.models.heads import _calibrated

    folds = min(params.calibration_cv, min(np.unique(y, return_counts=True)[1]))
    return _calibrated(params, np.asarray(y), None, int(folds)).fit(X[:, cols], y)


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic", "temperature"])
@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("linear", ["svm", "logreg"])
def test_fast_proba_equals_sklearn(data, calibration, binary, linear):
    enc, X, labels = data
    y = ["教育" if c == "教育文体" else "其他" for c in labels] if binary else labels
    params = HeadParams(linear=linear, calibration=calibration, calibration_cv=2, C=1.0)
    head = LinearHead(params).fit(X, y)
    Xp = enc.transform(PROBE)
    fast = head.predict_proba(Xp)
    assert fast.shape == (len(PROBE), len(set(y)))
    assert fast.sum(axis=1) == pytest.approx(np.ones(len(PROBE)))
    ref = _sklearn_model(params, X, np.asarray(y), head.cols_)
    slow = ref.predict_proba(Xp[:, head.cols_])
    assert list(ref.classes_) == head.labels
    assert fast == pytest.approx(slow, abs=1e-5)  # float32 weights


def test_groups_keep_copies_together_and_are_checked(data):
    enc, X, labels = data
    twins = enc.transform([t for ts in TEXTS.values() for t in ts] + [" ".join(t) for ts in TEXTS.values() for t in ts])
    groups = list(range(len(labels))) * 2
    for calibration in ("isotonic", "temperature"):
        head = LinearHead(HeadParams(calibration=calibration, calibration_cv=2)).fit(twins, labels * 2, groups=groups)
        assert head.labels[int(np.argmax(head.predict_proba(enc.transform(["公交车不进站"]))))] == "交通运输"
    with pytest.raises(ValueError, match="labels"):
        LinearHead().fit(X, labels[:3])
    with pytest.raises(ValueError, match="two distinct"):
        LinearHead().fit(X, ["a"] * X.shape[0])


def test_contributions_name_the_words_of_the_text(data):
    enc, X, labels = data
    head = LinearHead(HeadParams(calibration_cv=2)).fit(X, labels)
    x = enc.transform(["小区路灯坏了"])
    cols, contrib = head.contributions(x, "城乡建设")
    top = [enc.feature_name(int(c)).split("__", 1)[1] for c in cols[np.argsort(-contrib)][:4]]
    assert any("路灯" in t or "小区" in t for t in top)
    assert len(cols) == x.nnz or len(cols) <= x.nnz


def test_keyword_rules_mix_in_the_citizens_own_word(data):
    enc, X, labels = data
    rules = KeywordRules(weight=0.5, rules=[("教育文体", "补课")])
    head = LinearHead(HeadParams(calibration_cv=2), rules).fit(X, labels)
    x = enc.transform(["公交车补课"])
    plain, mixed = head.predict_proba(x), head.predict_proba(x, ["公交车补课"])
    j = head.labels.index("教育文体")
    assert mixed[0, j] == pytest.approx(0.5 * plain[0, j] + 0.5)
    assert head.predict_proba(x, ["公交车"]) == pytest.approx(plain)  # no rule fired: unchanged


def test_save_and_load_give_the_same_answers(data, tmp_path):
    enc, X, labels = data
    head = LinearHead(HeadParams(calibration="isotonic", calibration_cv=3)).fit(X, labels)
    head.save(tmp_path / "h")
    again = LinearHead.load(tmp_path / "h")
    Xp = enc.transform(PROBE)
    assert again.predict_proba(Xp) == pytest.approx(head.predict_proba(Xp))
    assert again.labels == head.labels
    assert not again.W_.flags.writeable  # memory-mapped, shared read-only


def test_a_head_trained_on_a_subset_stores_only_its_features(data):
    enc, X, labels = data
    rows = [i for i, c in enumerate(labels) if c != "交通运输"]
    head = LinearHead(HeadParams(calibration_cv=2)).fit(X[rows], [labels[i] for i in rows])
    assert len(head.cols_) < X.shape[1]
    p = head.predict_proba(enc.transform(["公交车不进站", "学校乱收费"]))  # features it never saw are ignored
    assert p.shape == (2, 2) and np.isfinite(p).all()


def test_quantised_rows_round_trip_within_half_a_step():
    from minyi_nlp.models.heads import quantize_rows

    rng = np.random.default_rng(0)
    W = rng.normal(size=(300, 12)).astype(np.float32) * rng.uniform(0.01, 3, size=(300, 1)).astype(np.float32)
    W[5] = 0.0  # a feature with no weight keeps a usable scale
    q, scale = quantize_rows(W)
    assert q.dtype == np.int8 and scale.dtype == np.float32 and np.abs(q).max() == 127
    assert np.all(np.abs(q * scale[:, None] - W) <= scale[:, None] / 2 + 1e-7)
    assert np.all(q[5] == 0)


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid", "temperature"])
def test_int8_weights_score_like_float32_and_survive_save_and_load(data, tmp_path, calibration):
    enc, X, labels = data
    texts = PROBE + [t for ts in TEXTS.values() for t in ts]
    Xp = enc.transform(texts)
    full = LinearHead(HeadParams(calibration=calibration, calibration_cv=2)).fit(X, labels)
    small = LinearHead(HeadParams(calibration=calibration, calibration_cv=2, weights="int8")).fit(X, labels)
    assert small.W_.dtype == np.int8 and small.W_.nbytes * 4 == full.W_.nbytes
    step = float(small.W_scale_.max())  # one quantisation step of the coarsest row
    assert np.abs(small.scores(Xp) - full.scores(Xp)).max() <= step * np.abs(Xp).sum(axis=1).max()
    assert small.predict_proba(Xp) == pytest.approx(full.predict_proba(Xp), abs=0.02)
    assert (small.predict_proba(Xp).argmax(1) == full.predict_proba(Xp).argmax(1)).mean() >= 0.9
    files = small.save(tmp_path / "q")
    assert any(f.name == "W_scale.npy" for f in files)
    again = LinearHead.load(tmp_path / "q")
    assert again.W_.dtype == np.int8 and not again.W_.flags.writeable
    assert np.array_equal(again.predict_proba(Xp), small.predict_proba(Xp))
    cols, contrib = again.contributions(enc.transform(["小区路灯坏了"]), "城乡建设")
    ref_cols, ref = full.contributions(enc.transform(["小区路灯坏了"]), "城乡建设")
    assert np.array_equal(cols, ref_cols) and contrib == pytest.approx(ref, abs=step)


def test_used_rows_sort_and_mask_agree():
    from minyi_nlp.models.heads import _used_rows

    rng = np.random.default_rng(1)
    for n, size in [(50, 30), (100_000, 200), (100_000, 80_000)]:
        idx = rng.integers(0, n, size).astype(np.int32)
        used, inv = _used_rows(idx, n)
        assert np.array_equal(used, np.unique(idx)) and np.array_equal(used[inv], idx)


def test_prefault_maps_every_page_of_a_loaded_heads_weights(data, tmp_path):
    import psutil

    from minyi_nlp.models.arrays import is_mapped, load_array, mapped_arrays, prefault

    enc, X, labels = data
    head = LinearHead(HeadParams(calibration_cv=2)).fit(X, labels)
    assert list(mapped_arrays(head)) == []  # fitted in memory: nothing mapped
    big = np.random.default_rng(0).normal(size=(40_000, 64)).astype(np.float32)  # 10 MB
    np.save(tmp_path / "big.npy", big)
    holder = {"w": load_array(tmp_path / "big.npy"), "plain": big}
    found = list(mapped_arrays(holder))
    assert len(found) == 1 and is_mapped(found[0]) and not is_mapped(big)

    def mapped_rss() -> int:
        return sum(m.rss for m in psutil.Process().memory_maps() if m.path.endswith("big.npy"))

    before = mapped_rss()
    assert prefault(found) == big.nbytes
    assert mapped_rss() - before >= big.nbytes * 0.9
    assert np.array_equal(found[0], big)


@pytest.mark.parametrize("weights", ["float32", "int8"])
def test_scores_read_only_the_heads_features_and_follow_each_matrix(data, weights):
    """Heads that score one matrix share its compact form; the score is exactly ``X[:, cols] @ W + b``, and a
    new matrix (even one of the same shape) is compacted afresh."""
    enc, X, labels = data
    rows = [i for i, c in enumerate(labels) if c != "交通运输"]
    head = LinearHead(HeadParams(calibration_cv=2, weights=weights)).fit(X[rows], [labels[i] for i in rows])
    for texts in (PROBE, ["公交车不进站", "学校乱收补课费，老师体罚学生"], PROBE[:2]):
        Xp = enc.transform(texts)
        expected = np.asarray(Xp[:, head.cols_] @ head.weight_rows(np.arange(len(head.cols_))), np.float64) + head.b_
        assert np.array_equal(head.scores(Xp), expected)
        assert np.array_equal(head.scores(Xp), expected)  # the second head on the same matrix: the kept form


@pytest.mark.parametrize("weights", ["float32", "int8"])
def test_scores_are_exact_whether_the_head_reads_few_or_most_of_a_batchs_columns(data, weights):
    """A head that reads at most ⅔ of the batch's columns multiplies only those; one that reads more zeroes the
    other weight rows. Both give exactly ``X[:, cols] @ W + b``."""
    from minyi_nlp.models.heads import compacted

    enc, X, labels = data
    rows = [i for i, c in enumerate(labels) if c == "城乡建设"]
    other = [i for i, c in enumerate(labels) if c != "城乡建设"]
    head = LinearHead(HeadParams(calibration_cv=2, weights=weights)).fit(X[rows + other[:2]],
                                                                         [labels[i] for i in rows + other[:2]])
    shares = []
    for batch in (X[rows], X[other]):
        used, _ = compacted(batch)
        shares.append(float(np.mean(head._colmap[used] >= 0)))
        expected = np.asarray(batch[:, head.cols_] @ head.weight_rows(np.arange(len(head.cols_))),
                              np.float64) + head.b_
        assert np.array_equal(head.scores(batch), expected)
    assert shares[0] > 2 / 3 >= shares[1]  # both ways were taken
