"""The tree head: child ≤ parent, each parent's children share its probability, pruning, persistence; the
reconciliation with the category head; the decided key and the listed paths."""

from __future__ import annotations

import numpy as np
import pytest

from minyi_nlp.models.bundle import load_head
from minyi_nlp.models.encoder import Encoder
from minyi_nlp.models.subcategories import all_nodes, decided_keys, listed, ranked, reconcile
from minyi_nlp.models.tree_head import TreeHead
from minyi_nlp.params import EncoderParams, HeadParams

ROWS = {
    "城乡建设/城市建设和市政管理/燃气供应": ["燃气泄漏闻到煤气味", "天然气管道漏气", "燃气公司不来维修", "煤气罐漏气"],
    "城乡建设/城市建设和市政管理/小区管理": ["小区门禁坏了", "小区停车位乱收费", "小区电梯故障", "小区绿化被占"],
    "城乡建设/住房保障与房地产/物业服务": ["物业服务太差", "物业费乱涨", "物业不管卫生", "物业态度恶劣"],
    "政法/社会治安/治安案件": ["楼下有人打架斗殴", "报警后派出所不出警", "小偷入室盗窃", "有人聚众赌博"],
    "政法/交通管理": ["交警乱罚款", "路口违章停车没人管", "电动车闯红灯", "交通事故责任认定不公"],
    "教育文体": ["学校乱收补课费", "老师体罚学生", "幼儿园收费太高", "孩子入学难"],
}
PROBE = ["燃气漏气了", "派出所不出警", "学校收费", "完全无关的话", ""]
PARAMS = HeadParams(calibration="temperature", calibration_cv=2, C=1.0)


@pytest.fixture(scope="module")
def fitted():
    texts = [t for ts in ROWS.values() for t in ts]
    labels = [p for p, ts in ROWS.items() for _ in ts]
    enc = Encoder(EncoderParams(min_df=1, max_features=None, head_chars=0)).fit(texts)
    head = TreeHead(PARAMS.model_copy(update={"max_weights": 30})).fit(enc.transform(texts), labels)
    return enc, head


def test_paths_multiply_down_the_tree(fitted):
    enc, head = fitted
    p = head.predict_proba(enc.transform(PROBE))
    names = head.labels
    assert names[: len(head.top_nodes)] == ["城乡建设", "政法", "教育文体"]
    assert p[:, head.top_nodes].sum(axis=1) == pytest.approx(np.ones(len(PROBE)))
    child = np.flatnonzero(head.parent_ >= 0)
    assert (p[:, child] <= p[:, head.parent_[child]] + 1e-12).all()
    for parent in np.unique(head.parent_[child]):  # the children seen in training share their parent's probability
        kids = np.flatnonzero(head.parent_ == parent)
        assert p[:, kids].sum(axis=1) == pytest.approx(p[:, parent])
    # one child seen under 政法/社会治安: it takes the whole probability of its parent
    only = names.index("政法/社会治安/治安案件")
    assert p[:, only] == pytest.approx(p[:, names.index("政法/社会治安")])
    best = [names[j] for j in np.argmax(np.where(head.level_ == 3, p, -1), axis=1)[:2]]
    assert best == ["城乡建设/城市建设和市政管理/燃气供应", "政法/社会治安/治安案件"]


def test_weights_are_pruned_per_node_and_saved_sparse(fitted, tmp_path):
    enc, head = fitted
    per_node = np.bincount(head.W_.indices, minlength=len(head.labels))
    assert per_node.max() <= 30 and head.W_.nnz > 0
    head.save(tmp_path / "tree")
    again = load_head(tmp_path / "tree")
    assert isinstance(again, TreeHead) and again.labels == head.labels
    X = enc.transform(PROBE)
    assert again.predict_proba(X) == pytest.approx(head.predict_proba(X), abs=1e-12)


def test_bad_input_is_refused(fitted):
    enc, _ = fitted
    X = enc.transform(["燃气", "物业"])
    with pytest.raises(ValueError, match="labels"):
        TreeHead(PARAMS).fit(X, ["城乡建设"])
    with pytest.raises(ValueError, match="two distinct"):
        TreeHead(PARAMS).fit(X, ["城乡建设/燃气", "城乡建设/物业"])
    with pytest.raises(ValueError, match="non-empty"):
        TreeHead(PARAMS).fit(X, ["城乡建设", "/"])
    with pytest.raises(ValueError, match="temperature"):
        TreeHead(HeadParams(calibration="isotonic"))
    with pytest.raises(ValueError, match="features"):
        fitted[1].predict_proba(X[:, :3])


def test_reconcile_takes_the_known_top_levels_from_the_category_head(fitted):
    enc, head = fitted
    p = head.predict_proba(enc.transform(PROBE))
    labels = ["教育文体", "城乡建设", "环境保护"]  # the category head knows two of the tree's top levels
    cat = np.tile([0.7, 0.2, 0.1], (len(PROBE), 1))
    r = reconcile(p, head, cat, labels)
    names = head.labels
    top = head.top_nodes
    assert r[:, top].sum(axis=1) == pytest.approx(np.ones(len(PROBE)))
    mass = p[:, [names.index("教育文体"), names.index("城乡建设")]].sum(axis=1)
    # the category head's order among the known ones (环境保护 has no node: renormalised over the other two)
    assert r[:, names.index("教育文体")] == pytest.approx(mass * 0.7 / 0.9)
    assert r[:, names.index("城乡建设")] == pytest.approx(mass * 0.2 / 0.9)
    assert r[:, names.index("政法")] == pytest.approx(p[:, names.index("政法")])  # unknown to the category head
    child = np.flatnonzero(head.parent_ >= 0)
    assert (r[:, child] <= r[:, head.parent_[child]] + 1e-12).all()
    # conditionals below a top level are kept
    gas, pipes = names.index("城乡建设/城市建设和市政管理/燃气供应"), names.index("城乡建设/城市建设和市政管理")
    ok = p[:, pipes] > 0
    assert (r[ok, gas] / r[ok, pipes]) == pytest.approx(p[ok, gas] / p[ok, pipes])


def test_listed_paths_are_sorted_and_deeper_than_the_top_level(fitted):
    enc, head = fitted
    p = head.predict_proba(enc.transform(PROBE))
    names = head.labels
    shown = {names[j] for j in listed(head)}
    assert "城乡建设" not in shown and "教育文体" in shown  # a top level is listed only without children
    for row in ranked(p, head, 4):
        scores = [s for _, s in row]
        assert len(row) == 4 and scores == sorted(scores, reverse=True)
    first = ranked(p[:1], head, 2)[0]  # a parent before its child on equal scores
    assert first[0][0] == "城乡建设/城市建设和市政管理"
    assert len(all_nodes(p[:1], head)[0]) == len(names)


def test_decided_key_is_the_finest_sure_node_else_its_parent(fitted):
    _, head = fitted
    names = head.labels
    values = {"城乡建设": 0.8, "城乡建设/城市建设和市政管理": 0.7, "城乡建设/城市建设和市政管理/燃气供应": 0.6,
              "城乡建设/城市建设和市政管理/小区管理": 0.1, "城乡建设/住房保障与房地产": 0.1,
              "城乡建设/住房保障与房地产/物业服务": 0.1, "政法": 0.15, "政法/交通管理": 0.1, "政法/社会治安": 0.05,
              "政法/社会治安/治安案件": 0.05, "教育文体": 0.05}
    p = np.array([[values[n] for n in names]])
    gas = decided_keys(p, head, threshold=0.6)[0]
    assert [(k.key, k.score, k.mass) for k in gas] == [
        ("城乡建设/城市建设和市政管理/燃气供应", 0.6, 0.8), ("政法", 0.15, 0.15), ("教育文体", 0.05, 0.05)]
    assert decided_keys(p, head, threshold=0.65)[0][0].key == "城乡建设/城市建设和市政管理"  # the parent clears it
    assert decided_keys(p, head, threshold=0.9)[0][0].key == "城乡建设"  # nothing clears it: the 一级
    low = decided_keys(p, head, threshold=0.1)[0]  # under every 一级, its finest node that clears it
    assert [k.key for k in low] == ["城乡建设/城市建设和市政管理/燃气供应", "政法/交通管理", "教育文体"]


def test_fits_on_two_processes_are_the_fits_of_one(fitted):
    """``n_jobs`` only spreads the fold and final fits of a level over processes: same weights, biases and
    temperatures as fitting them one by one."""
    enc, one = fitted
    texts = [t for ts in ROWS.values() for t in ts]
    labels = [p for p, ts in ROWS.items() for _ in ts]
    two = TreeHead(PARAMS.model_copy(update={"max_weights": 30, "n_jobs": 2})).fit(enc.transform(texts), labels)
    assert two.labels == one.labels
    assert abs(two.W_ - one.W_).max() == 0
    assert np.array_equal(two.b_, one.b_)
    assert np.array_equal(two.temperature_, one.temperature_)


def _decided_keys_one_by_one(proba, tree, threshold):
    """The decided keys row by row, node by node: what the vectorised version must give."""
    names, top, out = tree.labels, tree.top_nodes, []
    for row in proba:
        best = {int(c): int(c) for c in top}
        for j in np.flatnonzero(row >= threshold):
            c, cur = int(tree.root_[j]), best[int(tree.root_[j])]
            if (tree.level_[j], row[j]) > (tree.level_[cur], row[cur]):
                best[c] = int(j)
        keys = [(names[best[c]], float(row[best[c]]), float(row[c])) for c in top if row[c] > 0]
        out.append(sorted(keys, key=lambda k: -k[2]))
    return out


def _random_proba(head, n=300, seed=0):
    """Rounded (many ties) random node probabilities, some 0."""
    rng = np.random.default_rng(seed)
    p = np.round(rng.random((n, len(head.labels))), 1)
    p[rng.random(p.shape) < 0.1] = 0.0
    return p


def test_vectorised_decided_keys_and_ranked_paths_are_the_loops(fitted):
    from minyi_nlp.dispatch.subcategory import SubcategoryReading
    from minyi_nlp.models.subcategories import decided_columns

    _, head = fitted
    p = _random_proba(head)
    for threshold in (0.0, 0.3, 0.5, 0.9, 1.0):
        expected = _decided_keys_one_by_one(p, head, threshold)
        assert [[(k.key, k.score, k.mass) for k in row] for row in decided_keys(p, head, threshold)] == expected
        columns = zip(*decided_columns(p, head, threshold), strict=True)
        for i, reading in enumerate(SubcategoryReading([], *c) for c in columns):
            assert [(k.key, k.score, k.mass) for k in reading.keys] == expected[i]
            if expected[i]:
                assert reading.decided.key == expected[i][0][0]
                assert reading.duty_probs() == ({k: m for k, _, m in expected[i]}, {k: s for k, s, _ in expected[i]})
    nodes = listed(head)
    order = np.argsort(-p[:, nodes], axis=1, kind="stable")
    for k in (None, 0, 1, 3, len(nodes), len(nodes) + 2):
        expected = [[(head.labels[nodes[j]], float(p[i, nodes[j]])) for j in row] for i, row in enumerate(order[:, :k])]
        assert ranked(p, head, k) == expected


def test_the_product_is_scipys(fitted):
    import scipy.sparse as sp

    from minyi_nlp.models.tree_head import _dense_product

    enc, head = fitted
    X = enc.transform(PROBE * 3)
    np.testing.assert_array_equal(_dense_product(X, head.W_), (X @ head.W_).toarray().astype(np.float64))
    rng = np.random.default_rng(1)
    A = sp.random(50, 40, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    B = sp.random(40, 30, density=0.1, format="csr", dtype=np.float32, random_state=rng)
    for a, b in ((A, B), (A[:0], B), (A.astype(np.float64), B), (sp.csr_matrix((5, 40), dtype=np.float32), B)):
        np.testing.assert_array_equal(_dense_product(a, b), (a @ b).toarray().astype(np.float64))


def test_labels_are_a_fresh_copy_that_follows_the_classes(fitted):
    """The labels are made once per ``classes_`` but handed out as a copy: a caller that edits its list does
    not change the head's, and a refit (new ``classes_``) gives the new labels."""
    _, head = fitted
    first = head.labels
    first.append("edited")
    assert head.labels == [str(c) for c in head.classes_] and head.labels is not head.labels
    old = head.classes_
    try:
        head.classes_ = np.asarray([*old[:-1], "教育文体/改名"], dtype=object)
        assert head.labels[-1] == "教育文体/改名"
    finally:
        head.classes_ = old
    assert head.labels[-1] == str(old[-1])
