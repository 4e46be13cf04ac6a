"""Temperature scaling: the fitted T, probabilities that sum to one, grouped out-of-fold splits."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from minyi_nlp.models.calibration import TemperatureScaledClassifier, fit_temperature, softmax_scores


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(4000, 4))
    p = softmax_scores(true_logits, 1.0)
    y = np.array([rng.choice(4, p=row) for row in p])
    # the model is overconfident by a factor of 3: the fitted T must undo it
    assert fit_temperature(true_logits * 3.0, y) == pytest.approx(3.0, rel=0.15)


def _blobs(n_per_class: int = 60, n_classes: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, size=(n_classes, 5))
    X = np.vstack([c + rng.normal(0, 2.5, size=(n_per_class, 5)) for c in centres])
    y = np.repeat([f"c{i}" for i in range(n_classes)], n_per_class)
    return X, y


def test_probabilities_are_a_distribution_and_argmax_is_the_linear_models():
    X, y = _blobs()
    clf = TemperatureScaledClassifier(LinearSVC(C=0.5), cv=5).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert list(clf.classes_) == ["c0", "c1", "c2"]
    plain = LinearSVC(C=0.5).fit(X, np.unique(y, return_inverse=True)[1])
    assert (clf.predict(X) == clf.classes_[plain.predict(X)]).all()
    assert clf.temperature_ > 0


def test_svm_margins_get_a_temperature_below_one():
    # SVM scores live around ±1, far too flat for a softmax: T < 1 sharpens them
    X, y = _blobs(seed=1)
    clf = TemperatureScaledClassifier(LinearSVC(C=0.5), cv=5).fit(X, y)
    assert clf.temperature_ < 1.0


def test_groups_keep_copies_of_one_appeal_on_one_side():
    # every row appears twice; without groups the out-of-fold scores see the row's twin and T shrinks
    X, y = _blobs(n_per_class=40, seed=2)
    X2, y2 = np.vstack([X, X]), np.concatenate([y, y])
    groups = np.concatenate([np.arange(len(X)), np.arange(len(X))])
    grouped = TemperatureScaledClassifier(LogisticRegression(C=100, max_iter=2000), cv=5).fit(X2, y2, groups)
    leaky = TemperatureScaledClassifier(LogisticRegression(C=100, max_iter=2000), cv=5).fit(X2, y2)
    assert grouped.temperature_ > leaky.temperature_


def test_binary_problems_work():
    X, y = _blobs(n_classes=2)
    clf = TemperatureScaledClassifier(LinearSVC(), cv=3).fit(X, y)
    proba = clf.predict_proba(X[:5])
    assert proba.shape == (5, 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_one_label_is_refused():
    with pytest.raises(ValueError, match="two distinct labels"):
        TemperatureScaledClassifier(LinearSVC()).fit(np.zeros((4, 2)), ["a"] * 4)
