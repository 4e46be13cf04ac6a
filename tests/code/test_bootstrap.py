"""Paired bootstrap deltas and the verdict rule of `minyi models compare`."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from minyi_nlp.models.bootstrap import (
    Classified,
    compare_classified,
    compare_ranks,
    ece,
    macro_f1,
    outcome,
    verdict,
)
from minyi_nlp.models.metrics import expected_calibration_error

LABELS = ["交通运输", "城乡建设", "教育文体"]


def model(y_true, correct_share, rng, confidence=0.9):
    """Predictions right on about ``correct_share`` of the rows."""
    y = np.array([LABELS.index(v) for v in y_true])
    wrong = rng.random(len(y)) > correct_share
    pred = np.where(wrong, (y + 1) % len(LABELS), y)
    return Classified(y, pred, np.full(len(y), confidence), len(LABELS))


def test_numpy_metrics_equal_sklearn_and_the_project_ece():
    rng = np.random.default_rng(1)
    y, p = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    assert abs(macro_f1(y, p, 4, np.ones(4, bool)) - f1_score(y, p, average="macro")) < 1e-12
    conf, ok = rng.random(300), rng.random(300) < 0.6
    assert abs(ece(conf, ok) - expected_calibration_error(conf, ok)) < 1e-12


def test_identical_models_are_no_worse():
    rng = np.random.default_rng(0)
    y_true = list(rng.choice(LABELS, 400))
    a = model(y_true, 0.9, np.random.default_rng(5))
    deltas = compare_classified(a, a, replicates=300)
    assert deltas["macro_f1"]["delta"] == 0 and deltas["macro_f1"]["ci95"] == [0.0, 0.0]
    outcomes = [outcome(d, 0.005) for d in deltas.values() if d["gated"]]
    assert outcomes == ["same"] and verdict(outcomes) == "no worse"


def test_a_much_worse_model_is_worse_and_a_much_better_one_better():
    rng = np.random.default_rng(0)
    y_true = list(rng.choice(LABELS, 400))
    good, bad = model(y_true, 0.92, np.random.default_rng(1)), model(y_true, 0.55, np.random.default_rng(2))
    worse = compare_classified(bad, good, replicates=500)["macro_f1"]
    assert worse["delta"] < -0.2 and worse["ci95"][1] < 0 and outcome(worse, 0.005) == "worse"
    better = compare_classified(good, bad, replicates=500)["macro_f1"]
    assert outcome(better, 0.005) == "better" and verdict(["better", "same"]) == "better"
    assert verdict(["better", "worse"]) == "worse"


def test_a_significant_drop_within_the_tolerance_is_not_worse():
    ranks_a = np.array([1.0] * 990 + [2.0] * 10)  # candidate: 10 rows of 1000 lose their top-1
    ranks_b = np.ones(1000)
    top1 = compare_ranks(ranks_a, ranks_b, replicates=500)["top1"]
    assert top1["delta"] == -0.01 and top1["ci95"][1] < 0
    assert outcome(top1, tolerance=0.02) == "same" and outcome(top1, tolerance=0.005) == "worse"


def test_ece_counts_lower_as_better():
    rng = np.random.default_rng(3)
    y_true = list(rng.choice(LABELS, 500))
    calibrated = model(y_true, 0.8, np.random.default_rng(4), confidence=0.8)
    overconfident = Classified(calibrated.y, calibrated.pred, np.full(500, 0.99), len(LABELS))
    d = compare_classified(overconfident, calibrated, gated=("ece",), replicates=300)["ece"]
    assert d["better"] == "lower" and d["delta"] > 0.1 and outcome(d, 0.005) == "worse"
    assert d["gated"] and not compare_classified(overconfident, calibrated, gated=("ece",))["macro_f1"]["gated"]
