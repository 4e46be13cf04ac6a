"""A stand-in for the shared encoder, to evaluate the similar-appeal search before it lands.

Same shape as the planned ``Encoder``: normalise → mask PII → segment (jieba-rs) → an L2-normalised sparse
TF-IDF vector (word 1–2-grams + character 1–3-grams + the title's words again at half weight), and
``embed`` = a TruncatedSVD (LSA) projection of it with unit rows. Fitted on training texts only (附件2,
the category model's training data).
:func:`random_projection` is the other dense projection the evaluation tries: each feature adds ±its
weight to two fixed coordinates, which keeps the sparse cosine up to noise of order 1/√dim.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from minyi_nlp.text import Segmenter, preprocess

__all__ = ["StandInEncoder", "random_projection"]


_TITLE_END = re.compile(r"[\s，。！？,.!?：:；;]|尊敬的|您好|你好")  # preprocess turns the title's line break into " "


def _no_spaces(text: str) -> str:
    return text.replace(" ", "")


def _title(text: str, n: int = 40) -> str:
    """The head of an appeal, where its title is: up to ``n`` characters, cut at the first space (line
    break), punctuation mark or greeting after at least 6 characters (as the category model reads titles)."""
    ends = (m.start() for m in _TITLE_END.finditer(text, 0, n + 1) if m.start() >= 6)
    return text[: min(next(ends, n), n)]


class StandInEncoder:
    """``transform`` → sparse unit rows; ``embed`` → dense ``(n, dim)`` float32 unit rows."""

    def __init__(self, dim: int = 256, min_df: int = 2, max_features: int = 200_000, random_state: int = 0) -> None:
        self.dim = dim
        self.min_df = min_df
        self.max_features = max_features
        self.random_state = random_state

    def fit(self, texts: Sequence[str]) -> StandInEncoder:
        tfidf = dict(min_df=self.min_df, max_features=self.max_features, sublinear_tf=True, dtype=np.float32,
                     lowercase=False)
        self.features_ = FeatureUnion([
            ("words", TfidfVectorizer(tokenizer=Segmenter(backend="rjieba"), token_pattern=None, ngram_range=(1, 2),
                                      **tfidf)),
            ("chars", TfidfVectorizer(analyzer="char", preprocessor=_no_spaces, ngram_range=(1, 3), **tfidf)),
            ("title", TfidfVectorizer(preprocessor=_title, tokenizer=Segmenter(backend="rjieba"), token_pattern=None,
                                      ngram_range=(1, 2), **tfidf)),
        ], transformer_weights={"title": 0.5})
        X = normalize(self.features_.fit_transform([preprocess(t) for t in texts]))
        self.svd_ = TruncatedSVD(self.dim, random_state=self.random_state).fit(X)
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Sparse TF-IDF rows, unit length."""
        return normalize(self.features_.transform([preprocess(t) for t in texts])).tocsr()

    def embed_sparse(self, X: sp.spmatrix) -> np.ndarray:
        """The dense projection of sparse rows, unit length."""
        return normalize(self.svd_.transform(X)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_sparse(self.transform(texts))


def random_projection(X: sp.spmatrix, dim: int = 256, seed: int = 0) -> np.ndarray:
    """``(n, dim)`` float32 unit rows: column ``j`` of ``X`` adds ±``X[:, j]`` to two seeded coordinates."""
    X = sp.csr_matrix(X)
    rng = np.random.default_rng(seed)
    target = rng.integers(0, dim, size=(X.shape[1], 2))
    sign = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(X.shape[1], 2))
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    where = (rows[:, None] * dim + target[X.indices]).ravel()
    out = np.bincount(where, weights=(X.data[:, None] * sign[X.indices]).ravel(), minlength=X.shape[0] * dim)
    return normalize(out.reshape(X.shape[0], dim)).astype(np.float32)
