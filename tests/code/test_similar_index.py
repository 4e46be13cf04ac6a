"""The similar-appeal index on synthetic vectors: windows, places, removal, eviction, both search modes."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
import scipy.sparse as sp

from minyi_nlp.similar import SimilarIndex, SimilarSettings, sketch_cosine, sketch_rows
from minyi_nlp.similar.perturb import PERTURBATIONS
from minyi_nlp.text import preprocess

T0 = datetime(2024, 3, 1, 9, 0)
DIM = 16


def _unit(rng: np.random.Generator, n: int, d: int = DIM) -> np.ndarray:
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _near(v: np.ndarray, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    w = v + noise * rng.normal(size=v.shape).astype(np.float32)
    return w / np.linalg.norm(w)


@pytest.fixture
def world():
    """60 appeals over 60 days with random sparse rows; appeal i arrives on day i."""
    rng = np.random.default_rng(0)
    n = 60
    dense = _unit(rng, n)
    sparse = sp.random(n, 2000, density=0.02, random_state=1, format="csr", dtype=np.float32)
    times = [T0 + timedelta(days=i) for i in range(n)]
    places = ["A3区" if i % 2 else "A4区" for i in range(n)]
    return rng, dense, sparse, times, places


def _index(world, **settings) -> SimilarIndex:
    _, dense, sparse, times, places = world
    idx = SimilarIndex(DIM, SimilarSettings(**settings))
    idx.add([f"a{i}" for i in range(len(times))], dense, times, places, [f"route{i}" for i in range(len(times))],
            sparse=sparse)
    return idx


def test_sketch_keeps_the_heaviest_features_and_has_unit_length():
    X = sp.csr_matrix(np.array([[0.1, 0.0, 0.7, 0.2, 0.5], [0.0, 0.0, 0.0, 0.0, 0.0]], dtype=np.float32))
    ids, w = sketch_rows(X, 2)
    assert ids[0].tolist() == [2, 4]
    assert np.isclose(np.linalg.norm(w[0].astype(np.float32)), 1.0, atol=1e-3)
    assert (w[1] == 0).all()


def test_sketch_cosine_equals_the_cosine_of_the_kept_features():
    rng = np.random.default_rng(3)
    X = sp.random(20, 300, density=0.2, random_state=2, format="csr", dtype=np.float32)
    ids, w = sketch_rows(X, 16)
    dense = np.zeros((20, 300), dtype=np.float32)
    for i in range(20):
        keep = ids[i] != np.uint32(0xFFFFFFFF)
        dense[i, ids[i][keep]] = w[i][keep].astype(np.float32)
    q = int(rng.integers(0, 20))
    got = sketch_cosine(ids[q], w[q], ids, w)
    assert np.allclose(got, dense @ dense[q], atol=2e-3)
    assert got[q] == pytest.approx(1.0, abs=2e-3)


def test_query_finds_a_near_copy_within_the_window_only(world):
    rng, dense, sparse, times, places = world
    idx = _index(world)
    q = _near(dense[40], rng)
    hits = idx.query(q, at=times[40] + timedelta(days=2), jurisdiction=places[40], sparse=sparse[40])
    assert [m.id for m in hits][:1] == ["a40"]
    top = hits[0]
    assert top.score == pytest.approx(1.0, abs=2e-3)
    assert (top.received_at, top.jurisdiction, top.route) == (times[40], "A4区", "route40")
    # 31 days later it is outside the default 30-day window; a wider window finds it again
    assert idx.query(q, at=times[40] + timedelta(days=31), sparse=sparse[40]) == []
    assert idx.query(q, at=times[40] + timedelta(days=31), window_days=60, sparse=sparse[40])[0].id == "a40"
    # appeals received after `at` are never returned
    assert idx.query(q, at=times[40] - timedelta(hours=1), sparse=sparse[40]) == []


def test_without_sparse_rows_the_dense_threshold_applies(world):
    rng, dense, _, times, _ = world
    idx = _index(world, dense_threshold=0.95)
    assert idx.query(_near(dense[10], rng, 0.02), at=times[10])[0].id == "a10"
    assert idx.query(_near(dense[10], rng, 0.6), at=times[10]) == []


def test_place_penalty_neutral_places_and_prefix_agreement(world):
    rng, dense, sparse, times, _ = world
    idx = _index(world, threshold=0.6, place_penalty=0.5, neutral_places=frozenset({"A市"}))
    q, at = _near(dense[11], rng), times[11] + timedelta(days=1)  # a11 is in A3区
    assert idx.query(q, at=at, jurisdiction="A4区", sparse=sparse[11]) == []
    penalised = idx.query(q, at=at, jurisdiction="A4区", sparse=sparse[11], min_score=0)[0]
    assert penalised.score == pytest.approx(0.5, abs=2e-3)
    for same in ("A3区", "A3区洋湖街道", "A市", None):
        assert idx.query(q, at=at, jurisdiction=same, sparse=sparse[11])[0].id == "a11", same
    assert idx.query(q, at=at, jurisdiction="A4区", sparse=sparse[11], min_score=0,
                     same_jurisdiction_only=True)[0].jurisdiction == "A4区"


def test_k_order_exclude_remove_replace_and_route(world):
    rng, dense, sparse, times, places = world
    idx = _index(world)
    copy = _near(dense[20], rng, 0.01)
    idx.add(["b1"], copy[None], [times[21]], [places[20]], [None], sparse=sparse[20])
    hits = idx.query(copy, at=times[25], sparse=sparse[20], k=2)
    assert {m.id for m in hits} == {"a20", "b1"} and hits[0].score >= hits[1].score
    assert [m.id for m in idx.query(copy, at=times[25], sparse=sparse[20], exclude="b1")] == ["a20"]
    assert idx.set_route("a20", "A3区 住建局") and idx.query(copy, at=times[25], sparse=sparse[20],
                                                             exclude="b1")[0].route == "A3区 住建局"
    assert idx.remove("a20") and not idx.remove("a20") and "a20" not in idx
    assert [m.id for m in idx.query(copy, at=times[25], sparse=sparse[20])] == ["b1"]
    idx.add(["b1"], dense[5][None], [times[5]], [None], [None], sparse=sparse[5])  # replaced, not doubled
    assert len(idx) == 60 and idx.query(dense[5], at=times[6], sparse=sparse[5])[0].id in {"a5", "b1"}


def test_bounded_memory_drops_the_oldest_shards(world):
    _, dense, sparse, times, _ = world
    idx = _index(world, max_items=20, shard_days=7)
    assert 14 <= len(idx) <= 20 and "a59" in idx and "a0" not in idx
    kept = _index(world, retention_days=14, shard_days=7)
    assert "a59" in kept and "a30" not in kept and len(kept) < 30
    assert kept.stats()["shards"] <= 3


def test_graph_shards_agree_with_exhaustive_search():
    rng = np.random.default_rng(5)
    n = 3000
    dense = _unit(rng, n, 32)
    times = [T0 + timedelta(minutes=i) for i in range(n)]
    exact = SimilarIndex(32, SimilarSettings(exact_below=10 * n, dense_threshold=0.9))
    graph = SimilarIndex(32, SimilarSettings(exact_below=100, dense_threshold=0.9))
    for idx in (exact, graph):
        idx.add(list(range(n)), dense, times, [None] * n, [None] * n)
    assert graph.stats()["memory_bytes"] > 0
    picks = rng.choice(n, 50, replace=False)
    agree = sum(graph.query(_near(dense[i], rng, 0.05), at=times[-1])[0].id == i for i in picks)
    assert agree == 50
    assert [m.id for m in exact.query(_near(dense[7], rng, 0.05), at=times[-1])][:1] == [7]


def test_bad_input_names_what_is_wrong(world):
    _, dense, sparse, times, _ = world
    idx = SimilarIndex(DIM)
    with pytest.raises(ValueError, match="dimensions"):
        idx.add(["x"], np.ones((1, DIM + 1)), [T0], [None], [None])
    bad = dense[:2].copy()
    bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="vector 1"):
        idx.add(["x", "y"], bad, [T0, T0], [None, None], [None, None])
    with pytest.raises(ValueError, match="jurisdiction has 1 entries for 2 ids"):
        idx.add(["x", "y"], dense[:2], [T0, T0], [None], [None, None])
    with pytest.raises(ValueError, match="unique"):
        idx.add(["x", "x"], dense[:2], [T0, T0], [None, None], [None, None])
    with pytest.raises(TypeError, match="received_at"):
        idx.add(["x"], dense[:1], ["yesterday"], [None], [None])


def test_perturbations_change_the_text_and_a_phone_number_is_masked():
    text = "A3区麓泉社区单方面改变麓谷明珠小区6栋架空层使用性质。请相关部门调查处理。"
    for name, fn in PERTURBATIONS.items():
        assert fn(text, np.random.default_rng(1)) != text, name
    with_phone = PERTURBATIONS["phone"](text, np.random.default_rng(2))
    assert "<PHONE>" in preprocess(with_phone) and "<PHONE>" not in preprocess(text)


def test_landmarks_name_estates_and_roads_and_conflict_only_when_none_agree():
    from minyi_nlp.similar.landmarks import conflict, landmarks

    ktv = landmarks(preprocess("举报A市A3区柏家塘小区私营ktv严重扰民"))
    other = landmarks(preprocess("A3区天顶街道燕联小区3栋一KTV噪音扰民"))
    again = landmarks(preprocess("柏家塘小区a区17栋KTV每天唱到深夜"))
    assert "柏家塘" in ktv and conflict(ktv, other) and not conflict(ktv, again)
    assert not conflict(ktv, frozenset())  # an appeal that names no landmark agrees with any
    assert "A3区" not in "".join(ktv)  # districts are compared as jurisdictions, not as landmarks


def test_a_name_the_extractor_cut_differently_is_found_in_the_other_text():
    from minyi_nlp.similar.landmarks import Landmarks, conflict, landmarks, relation

    # 附件3: one title names the estate; the other appeal names it only after its first 80 characters
    title = landmarks(preprocess("投诉伊景园滨河苑开发商违法捆绑销售无产权车位"))
    other = landmarks(preprocess("不需要车位，不想白扔12万。我们是还没住进武广新城片区的业主，"
                                 "在未取得预售资格的情况下被逼迫缴纳18.5万购房款，且不签正式购房合同，工地也没有开工，现在还要求捆绑购买伊景园滨河苑的车位"))
    names_only = frozenset(other)
    assert "伊景园滨河" in title and "伊景园滨河" not in other
    assert conflict(title, names_only) and not conflict(title, other) and relation(title, other) == 1
    assert other.context.startswith("不需要车位") and " " not in landmarks("柏家塘小区 KTV").context
    # lead words are not part of a name: 我们是英祥春天 and 我们是魅力之城 do not agree by 我们是
    a = landmarks(preprocess("A4区英祥春天小区一楼被搞成商业门面，噪音扰民严重。我们是英祥春天小区居民"))
    b = landmarks(preprocess("A5区魅力之城小区一楼被搞成商业门面，噪音扰民严重。我们是魅力之城小区居民"))
    assert "英祥春天" in a and not any(n.startswith("我们") for n in a | b) and conflict(a, b)
    assert relation(a, frozenset()) == 0 and Landmarks({"x"}) == frozenset({"x"})


def test_a_shared_landmark_outweighs_the_routers_districts(world):
    """丽发新城 found in 暮云街道 by one appeal and in A2区 by the other: one place, no penalty."""
    rng, dense, sparse, times, _ = world
    idx = SimilarIndex(DIM, SimilarSettings(threshold=0.6, place_penalty=0.5))
    idx.add(["k"], dense[:1], [times[0]], ["A7县暮云街道"], [None], sparse=sparse[:1],
            landmarks=[frozenset({"丽发"})])
    q, at = _near(dense[0], rng), times[1]
    assert idx.query(q, at=at, sparse=sparse[:1], jurisdiction="A2区", landmarks=frozenset({"道丽发"}))[0].id == "k"
    assert idx.query(q, at=at, sparse=sparse[:1], jurisdiction="A2区") == []  # no landmark: districts decide
    assert idx.query(q, at=at, sparse=sparse[:1], jurisdiction="A2区", landmarks=frozenset({"燕联"})) == []


def test_a_landmark_conflict_costs_the_place_penalty(world):
    rng, dense, sparse, times, _ = world
    idx = SimilarIndex(DIM, SimilarSettings(threshold=0.6, place_penalty=0.5))
    idx.add(["k"], dense[:1], [times[0]], [None], [None], sparse=sparse[:1], landmarks=[frozenset({"柏家塘"})])
    q, at = _near(dense[0], rng), times[1]
    assert idx.query(q, at=at, sparse=sparse[:1], landmarks=frozenset({"燕联"})) == []
    assert idx.query(q, at=at, sparse=sparse[:1], landmarks=frozenset({"柏家塘小"}))[0].id == "k"


def test_the_threshold_keeps_the_dev_recall_margin():
    from minyi_nlp.similar.evaluate import DEV_MIN_RECALL, choose_threshold, precision_recall

    # 20 same-event pairs (16 score 0.9, one 0.5, three 0.1) and 10 others (0.95, 0.6 twice, seven 0.05)
    y = np.array([True] * 20 + [False] * 10)
    scores = np.array([0.9] * 16 + [0.5] + [0.1] * 3 + [0.95, 0.6, 0.6] + [0.05] * 7)
    strict, margin = choose_threshold(y, scores, 0.8), choose_threshold(y, scores)
    assert DEV_MIN_RECALL == 0.85 and margin < strict
    assert precision_recall(y, scores >= margin)["recall"] >= 0.85 > precision_recall(y, scores >= strict)["recall"]
