"""A stand-in for the shared encoder, to evaluate the similar-appeal search before it lands.

Same shape as the planned ``Encoder``: normalise → mask PII → segment (jieba-rs) → an L2-normalised sparse
TF-IDF vector (word 1–2-grams + character 1–3-grams), and ``embed`` = a TruncatedSVD (LSA) projection of
it with unit rows. Fitted on training texts only (附件2, the category model's training data).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from minyi_nlp.text import Segmenter, preprocess

__all__ = ["StandInEncoder"]


def _no_spaces(text: str) -> str:
    return text.replace(" ", "")


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
        ])
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
