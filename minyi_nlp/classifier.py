"""The category classifier: word + character TF-IDF, a linear model, calibrated probabilities.

Follows the scikit-learn estimator contract: ``__init__`` stores parameters, ``fit`` returns
``self`` and learned state ends in ``_``. Inputs are *raw* appeal texts; normalisation, PII
masking and segmentation happen inside, so training, evaluation and serving share one path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from minyi_nlp.calibration import TemperatureScaledClassifier
from minyi_nlp.text import Segmenter, preprocess


def clip_text(text: str, max_chars: int) -> str:
    """Keep the head and the tail of a very long text (the ask is usually at one of the ends)."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    head = (max_chars * 2) // 3
    return text[:head] + " " + text[-(max_chars - head) :]


def prepare_texts(texts: Iterable[str], max_chars: int = 3000) -> list[str]:
    """Normalise, mask PII and clip each text: the single entry for model input."""
    return [clip_text(preprocess("" if t is None else str(t)), max_chars) for t in texts]


def strip_spaces(text: str) -> str:
    """Character analyser input: spaces carry no meaning in Chinese text."""
    return text.replace(" ", "")


_TITLE_END = re.compile(r"[，。！？,.!?：:；;]|尊敬的|您好|你好")


class HeadText:
    """The head of an appeal, where its title is: up to ``n`` characters, cut at the first punctuation
    mark or greeting when that comes after at least 6 characters (raw texts are title + content
    without a separator; segmented ones have no punctuation left). Picklable."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, text: str) -> str:
        text = text.replace(" ", "")
        ends = (m.start() for m in _TITLE_END.finditer(text, 0, self.n + 1) if m.start() >= 6)
        return text[: min(next(ends, self.n), self.n)]


def calibrated_proba(cal: CalibratedClassifierCV, X) -> np.ndarray:
    """``cal.predict_proba(X)`` for linear models calibrated with ``sigmoid`` or ``isotonic``.

    The same numbers as scikit-learn, but one matrix product per calibration fold instead of one
    scikit-learn call per class and fold, whose input checks dominate the time of a single appeal.
    Anything else falls back to ``predict_proba``.
    """
    from scipy.special import expit

    folds = getattr(cal, "calibrated_classifiers_", None)
    if not folds or any(f.method not in ("sigmoid", "isotonic") or not hasattr(f.estimator, "coef_") for f in folds):
        return cal.predict_proba(X)
    classes = np.asarray(cal.classes_)
    n, k = X.shape[0], len(classes)
    mean = np.zeros((n, k))
    for fold in folds:
        est = fold.estimator
        scores = np.asarray(X @ est.coef_.T) + est.intercept_
        proba = np.zeros((n, k))
        for j, (idx, calibrator) in enumerate(
            zip(np.searchsorted(classes, est.classes_), fold.calibrators, strict=False)
        ):
            col = 1 if k == 2 else int(idx)
            t = scores[:, j]
            if fold.method == "sigmoid":
                proba[:, col] = expit(-(calibrator.a_ * t + calibrator.b_))
            else:
                xs, ys = calibrator.X_thresholds_, calibrator.y_thresholds_
                t = np.clip(t.astype(xs.dtype), calibrator.X_min_, calibrator.X_max_)
                proba[:, col] = (np.interp(t, xs, ys) if len(xs) > 1 else np.full(n, ys[0])).astype(xs.dtype)
        if k == 2:
            proba[:, 0] = 1.0 - proba[:, 1]
        else:
            total = proba.sum(axis=1, keepdims=True)
            proba = np.divide(proba, total, out=np.full_like(proba, 1.0 / k), where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        mean += proba
    return mean / len(folds)


def _to_float32(clf) -> None:
    """Store linear weights as float32: half the model size, scores equal to ~1e-7."""
    if isinstance(clf, TemperatureScaledClassifier):
        clf.estimator_.coef_ = clf.coef_ = np.asarray(clf.coef_, dtype=np.float32)
        return
    for cc in clf.calibrated_classifiers_:
        cc.estimator.coef_ = np.asarray(cc.estimator.coef_, dtype=np.float32)


class AppealClassifier(ClassifierMixin, BaseEstimator):
    """TF-IDF (jieba words 1..n + characters [+ the title's words]) → linear model → calibrated probabilities.

    ``calibration``: ``isotonic`` / ``sigmoid`` (scikit-learn's CalibratedClassifierCV, one model per
    calibration fold, averaged) or ``temperature`` (one model on all rows, scores softmaxed at a
    temperature fitted out of fold, see :mod:`minyi_nlp.calibration`).
    """

    def __init__(
        self,
        *,
        segmenter: str = "rjieba",
        word_ngram_max: int = 2,
        char_ngram_min: int = 1,
        char_ngram_max: int = 3,
        min_df: int = 2,
        max_features: int | None = 400_000,
        linear: str = "svm",
        C: float = 0.5,
        class_weight: str | None = "balanced",
        calibration: str = "isotonic",
        calibration_cv: int = 5,
        max_chars: int = 3000,
        head_chars: int = 0,
        head_weight: float = 1.0,
        user_dict: bool = True,
        stopwords: bool = True,
        n_jobs: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.segmenter = segmenter
        self.word_ngram_max = word_ngram_max
        self.char_ngram_min = char_ngram_min
        self.char_ngram_max = char_ngram_max
        self.min_df = min_df
        self.max_features = max_features
        self.linear = linear
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.max_chars = max_chars
        self.head_chars = head_chars
        self.head_weight = head_weight
        self.user_dict = user_dict
        self.stopwords = stopwords
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- construction -------------------------------------------------------------------------
    def _segmenter(self) -> Segmenter:
        return Segmenter(backend=self.segmenter, user_dict=self.user_dict, stopwords=self.stopwords)

    def _features(self) -> FeatureUnion:
        words = TfidfVectorizer(
            tokenizer=self._segmenter(),
            lowercase=False,
            token_pattern=None,
            ngram_range=(1, self.word_ngram_max),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        chars = TfidfVectorizer(
            analyzer="char",
            preprocessor=strip_spaces,
            lowercase=False,
            ngram_range=(self.char_ngram_min, self.char_ngram_max),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        blocks = [("words", words), ("chars", chars)]
        if self.head_chars > 0:  # the title again, as its own block: its words weigh more than the body's
            head = TfidfVectorizer(
                preprocessor=HeadText(self.head_chars),
                tokenizer=self._segmenter(),
                lowercase=False,
                token_pattern=None,
                ngram_range=(1, self.word_ngram_max),
                min_df=self.min_df,
                sublinear_tf=True,
                dtype=np.float32,
            )
            blocks.append(("head", head))
        weights = {"head": self.head_weight} if self.head_chars > 0 else None
        return FeatureUnion(blocks, transformer_weights=weights, n_jobs=self.n_jobs)

    def _linear(self):
        if self.linear == "svm":
            return LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
        if self.linear == "logreg":
            return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
        raise ValueError(f"linear must be 'svm' or 'logreg', got {self.linear!r}")

    # -- estimator API --------------------------------------------------------------------------
    def _calibrated(self, y: np.ndarray, groups: Sequence | None):
        if self.calibration == "temperature":
            return TemperatureScaledClassifier(self._linear(), cv=self.calibration_cv, random_state=self.random_state)
        if self.calibration not in ("isotonic", "sigmoid"):
            raise ValueError(f"calibration must be 'isotonic', 'sigmoid' or 'temperature', got {self.calibration!r}")
        cv: int | list = self.calibration_cv
        if groups is not None:  # keep the copies of one appeal on one side of each calibration split
            splitter = StratifiedGroupKFold(self.calibration_cv, shuffle=True, random_state=self.random_state)
            cv = list(splitter.split(np.zeros(len(y)), y, groups))
        return CalibratedClassifierCV(self._linear(), method=self.calibration, cv=cv, n_jobs=self.n_jobs)

    def fit(self, X: Sequence[str], y: Sequence[str], groups: Sequence | None = None) -> AppealClassifier:
        """Fit on raw texts. ``groups``: rows with the same group are copies of one appeal."""
        texts = prepare_texts(X, self.max_chars)
        y_arr = np.asarray(list(y), dtype=object)
        if len(texts) != len(y_arr):
            raise ValueError(f"X has {len(texts)} texts but y has {len(y_arr)} labels")
        if len(set(y_arr)) < 2:
            raise ValueError("need at least two distinct labels to train")
        if groups is not None and len(groups) != len(texts):
            raise ValueError(f"X has {len(texts)} texts but groups has {len(groups)} entries")
        clf = self._calibrated(y_arr.astype(str), groups)
        self.pipeline_ = Pipeline([("features", self._features()), ("clf", clf)])
        fit_params = {}
        if groups is not None and self.calibration == "temperature":
            fit_params["clf__groups"] = np.asarray(groups)
        self.pipeline_.fit(texts, y_arr, **fit_params)
        self.pipeline_.named_steps["features"].n_jobs = None  # predicting one appeal needs no worker pool
        _to_float32(self.pipeline_.named_steps["clf"])
        self.classes_ = self.pipeline_.classes_
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        features = self.pipeline_.named_steps["features"].transform(prepare_texts(X, self.max_chars))
        return calibrated_proba(self.pipeline_.named_steps["clf"], features)

    def predict(self, X: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- explanations ------------------------------------------------------------------------
    def feature_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Feature names and the (n_classes, n_features) linear weights averaged over CV folds."""
        if getattr(self, "_explain_cache", None) is None:
            union: FeatureUnion = self.pipeline_.named_steps["features"]
            names = union.get_feature_names_out()
            clf = self.pipeline_.named_steps["clf"]
            if isinstance(clf, TemperatureScaledClassifier):
                coef = clf.coef_.astype(np.float32)
            else:
                coef = np.mean([cc.estimator.coef_ for cc in clf.calibrated_classifiers_], axis=0).astype(np.float32)
            if coef.shape[0] == 1:  # binary problems store one row
                coef = np.vstack([-coef[0], coef[0]])
            self._explain_cache = (names, coef)
        return self._explain_cache

    def explain(self, text: str, label: str, k: int = 5) -> list[tuple[str, float]]:
        """The k words (or characters) in ``text`` that pushed hardest towards ``label``."""
        names, coef = self.feature_weights()
        row = int(np.flatnonzero(self.classes_ == label)[0])
        x = self.pipeline_.named_steps["features"].transform(prepare_texts([text], self.max_chars))
        x = x.tocsr()
        contrib = x.data * coef[row, x.indices]
        order = np.argsort(-contrib)
        out: list[tuple[str, float]] = []
        seen: set[str] = set()
        for i in order:
            if contrib[i] <= 0 or len(out) >= k:
                break
            term = str(names[x.indices[i]]).split("__", 1)[-1]
            if term in seen or not term.strip():
                continue
            seen.add(term)
            out.append((term, float(contrib[i])))
        return out
