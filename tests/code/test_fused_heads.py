"""Linear heads fused into one matrix score exactly as each head scores alone (int8 and float32 weights, heads
that read every column or only some), and a head refitted after fusing scores with its new weights."""

from __future__ import annotations

import gc

import numpy as np
import pytest
import scipy.sparse as sp

from minyi_nlp.batch.predict import ready_for_batches
from minyi_nlp.models.fused import FusedHeads
from minyi_nlp.models.heads import LinearHead
from minyi_nlp.params import HeadParams


def _data(rng: np.random.Generator, n: int, features: int) -> sp.csr_matrix:
    X = sp.random(n, features, density=0.05, format="csr", dtype=np.float32, random_state=rng)
    X.data = rng.random(X.nnz, dtype=np.float32) + np.float32(0.01)  # positive, as TF-IDF values are
    return X


@pytest.fixture(scope="module")
def heads() -> tuple[list[LinearHead], sp.csr_matrix]:
    rng = np.random.default_rng(0)
    X = _data(rng, 240, 400)
    y3 = np.asarray(["a", "b", "c"])[rng.integers(0, 3, 240)]
    y2 = np.asarray(["yes", "no"])[rng.integers(0, 2, 240)]
    some = np.zeros(400, bool)
    some[rng.choice(400, 60, replace=False)] = True  # a head that may read only 60 of the columns
    out = [
        LinearHead(HeadParams(calibration_cv=3, weights="int8")).fit(X, y3),
        LinearHead(HeadParams(calibration_cv=3, calibration="sigmoid")).fit(X, y2),
        LinearHead(HeadParams(calibration_cv=2, weights="int8", ensemble=False)).fit(X, y3, columns=some),
    ]
    return out, X


@pytest.mark.parametrize("rows", [1, 7, 240])
def test_fused_scores_are_each_heads_own_to_the_bit(heads, rows: int) -> None:
    linear, X = heads
    batch = sp.csr_matrix(X[:rows])
    alone = [h.scores(batch) for h in linear]
    fused = FusedHeads(linear)
    try:
        for h in linear:
            h.fused = fused
        for h, expected in zip(linear, alone, strict=True):
            got = h.scores(batch)
            assert got.dtype == expected.dtype and np.array_equal(got, expected)
        probabilities = [h.predict_proba(batch) for h in linear]
    finally:
        for h in linear:
            h.fused = None
    for h, p in zip(linear, probabilities, strict=True):
        assert np.array_equal(p, h.predict_proba(batch))


def test_one_product_per_matrix(heads, monkeypatch) -> None:
    linear, X = heads
    fused = FusedHeads(linear)
    calls = []
    product = fused.product
    monkeypatch.setattr(fused._products, "compute", lambda M: calls.append(M) or product(M))
    first, second = sp.csr_matrix(X[:50]), sp.csr_matrix(X[50:90])
    for M in (first, second, first):
        for h in linear:
            fused.scores(h, M)
    assert len(calls) == 2  # each matrix once, whichever head asked first


def test_a_refitted_head_leaves_the_fused_matrix(heads) -> None:
    linear, X = heads
    head = LinearHead(HeadParams(calibration_cv=2)).fit(X, np.asarray(["p", "q"] * 120))
    head.fused = FusedHeads([head, *linear])
    head.fit(X, np.asarray(["q", "p", "p"] * 80))
    assert head.fused is None
    with pytest.raises(ValueError, match="different encoders"):
        FusedHeads([head, LinearHead(HeadParams(calibration_cv=2)).fit(X[:, :300], np.asarray(["p", "q"] * 120))])


def test_a_batch_process_fuses_its_linear_heads_and_freezes_them(tiny_bundle_dir) -> None:
    from minyi_nlp.dispatch import Dispatcher

    dispatcher = Dispatcher.load(tiny_bundle_dir)
    pairs = [("燃气泄漏", "小区里燃气泄漏，味道很重"), (None, "A3区洋湖街道路灯不亮，晚上很黑")]
    before = [s.as_dict() for s in dispatcher.suggest_many(pairs, received_at=None, explain=False, reasons=False)]
    thresholds = gc.get_threshold()
    try:
        ready_for_batches(dispatcher)
        linear = [h for h in dispatcher.bundle.heads.values() if isinstance(h, LinearHead)]
        assert len(linear) >= 3 and len({id(h.fused) for h in linear}) == 1 and linear[0].fused is not None
        assert gc.get_freeze_count() > 0
        after = [s.as_dict() for s in dispatcher.suggest_many(pairs, explain=False, reasons=False)]
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    for s in before + after:
        s.pop("due_at")
    assert after == before
