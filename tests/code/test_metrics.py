"""Metrics: ECE, top-2, per-class figures on hand-made probabilities."""

import numpy as np
import pytest

from minyi_nlp.models.metrics import classification_report, expected_calibration_error


def test_ece_zero_when_confidence_matches_accuracy():
    conf = np.array([0.75] * 4)
    correct = np.array([True, True, True, False])
    assert expected_calibration_error(conf, correct, n_bins=10) == pytest.approx(0.0)


def test_ece_of_overconfident_model():
    conf = np.array([0.95] * 10)
    correct = np.array([True] * 5 + [False] * 5)
    assert expected_calibration_error(conf, correct, n_bins=10) == pytest.approx(0.45)


def test_report_counts_top2_and_per_class():
    classes = ["a", "b", "c"]
    proba = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.3, 0.6]])
    rep = classification_report(["a", "b", "a"], proba, classes)
    assert rep["n"] == 3
    assert rep["accuracy"] == pytest.approx(1 / 3)
    assert rep["top2_accuracy"] == pytest.approx(2 / 3)
    assert rep["per_class"]["a"]["recall"] == pytest.approx(0.5)
    assert rep["confusion_matrix"][1] == [1, 0, 0]


def test_report_rejects_empty():
    with pytest.raises(ValueError):
        classification_report([], np.zeros((0, 2)), ["a", "b"])
