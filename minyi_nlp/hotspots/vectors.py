"""Appeal vectors for grouping: the encoder's TF-IDF vectors, cut down to each appeal's keywords.

:func:`fit_encoder` is the one place that decides which encoder is used. Until the project's shared
encoder (``minyi_nlp.models.encoder``) is available it is a stand-in built the same way: word 1–2-gram
(``Segmenter(backend="rjieba")``) and character 1–3-gram TF-IDF (sublinear tf, smooth idf) over
preprocessed text, the two blocks stacked and L2-normalised, fitted on the input itself (or on its first
``fit_rows`` rows).

:func:`keyword_vectors` keeps the ``title_terms`` heaviest features of the title's vector and the
``body_terms`` heaviest of the full text's, and joins them so that one dot product is
``title_weight · cos(title) + (1 − title_weight) · cos(full text)``. Cutting to keywords is what makes
same-event appeals stand out: the shared rare words (丽发新城, 搅拌站, 捆绑, 车位) dominate, the common
ones (小区, 问题, 严重) no longer add up, and the products stay sparse enough for a million rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from minyi_nlp.text import Segmenter

__all__ = ["TextEncoder", "fit_encoder", "keep_top_terms", "keyword_vectors"]


class TextEncoder(Protocol):
    """What grouping needs from an encoder: L2-normalised sparse vectors of preprocessed texts."""

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix: ...


@lru_cache(maxsize=1)
def _segmenter() -> Segmenter:
    return Segmenter(backend="rjieba")


def _tokens(text: str) -> list[str]:
    """Words and adjacent word pairs of preprocessed text (module-level so that the encoder pickles)."""
    words = _segmenter()(text)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


class StandInEncoder:
    """Word 1–2-gram + character 1–3-gram TF-IDF of preprocessed text, stacked and L2-normalised."""

    def __init__(self, min_df: int = 1) -> None:
        self.min_df = min_df

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Fit the vocabularies and IDF on ``texts`` and return their vectors (one pass over the texts)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.words_ = TfidfVectorizer(analyzer=_tokens, sublinear_tf=True, min_df=self.min_df, dtype=np.float32)
        self.chars_ = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=self.min_df, dtype=np.float32
        )
        return self._stack(self.words_.fit_transform(texts), self.chars_.fit_transform(texts))

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return self._stack(self.words_.transform(texts), self.chars_.transform(texts))

    @staticmethod
    def _stack(words: sp.csr_matrix, chars: sp.csr_matrix) -> sp.csr_matrix:
        from sklearn.preprocessing import normalize

        return normalize(sp.hstack([words, chars], format="csr")).astype(np.float32)


def fit_encoder(sample: Sequence[str]) -> tuple[TextEncoder, sp.csr_matrix]:
    """The encoder for grouping, ready to transform preprocessed texts, and the vectors of ``sample``.

    Here: the stand-in, fitted on ``sample``. Switching to the project's shared encoder is this function
    only: load it and return it with ``encoder.transform(sample)``.
    """
    encoder = StandInEncoder()
    return encoder, encoder.fit_transform(sample)


def keep_top_terms(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Each row's ``k`` largest entries (ties: lower column first), L2-normalised again."""
    from sklearn.preprocessing import normalize

    m = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    m.sort_indices()
    counts = np.diff(m.indptr)
    rows = np.repeat(np.arange(m.shape[0]), counts)
    order = np.lexsort((m.indices, -m.data, rows))  # by row, then value descending
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(m.indptr[:-1], counts)
    keep = rank < k
    out = sp.csr_matrix((m.data[keep], m.indices[keep], np.concatenate([[0], np.cumsum(
        np.bincount(rows[keep], minlength=m.shape[0]))])), shape=m.shape)
    return normalize(out).astype(np.float32)


def keyword_vectors(
    encoder: TextEncoder,
    titles: Sequence[str],
    texts: Sequence[str],
    *,
    title_terms: int,
    body_terms: int,
    title_weight: float,
    text_vectors: sp.csr_matrix | None = None,
) -> sp.csr_matrix:
    """``[√w · top(title), √(1−w) · top(title + content)]`` per appeal: dot products are the weighted cosine.

    ``text_vectors`` are the encoder's vectors of ``texts`` when they are already at hand.
    """
    t = keep_top_terms(encoder.transform(titles), title_terms)
    f = keep_top_terms(encoder.transform(texts) if text_vectors is None else text_vectors, body_terms)
    joined = sp.hstack([t * np.float32(np.sqrt(title_weight)), f * np.float32(np.sqrt(1 - title_weight))])
    return sp.csr_matrix(joined, dtype=np.float32)
