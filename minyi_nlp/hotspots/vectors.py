"""Appeal vectors for grouping: the shared encoder's TF-IDF vectors, cut down to each appeal's keywords.

:func:`grouping_encoder` is the one place that decides which encoder is used: always the project's shared
:class:`~minyi_nlp.models.encoder.Encoder` (word 1–2-grams, character 1–3-grams and the title's words, each
block TF-IDF and L2-normalised, ``params.yaml``'s ``encoder`` section). With ``source="input"`` (the default of
:class:`~minyi_nlp.hotspots.params.HotspotParams`) it is fitted on the first rows of the input, so that a name
many of the input's appeals share (an area such as 梅溪湖) weighs little; with ``"bundle"`` it is the served
bundle's (``models/served.json`` or ``MINYI_BUNDLE``), the vectors every head reads, which measured worse for
grouping (README: hot issues); ``"auto"`` takes the bundle's when one is trained.

:func:`keyword_vectors` keeps the ``title_terms`` heaviest features of the title's vector and the
``body_terms`` heaviest of the full text's, and joins them so that one dot product is
``title_weight · cos(title) + (1 − title_weight) · cos(full text)``. Cutting to keywords is what makes
same-event appeals stand out: the shared rare words (丽发新城, 搅拌站, 捆绑, 车位) dominate, the common
ones (小区, 问题, 严重) no longer add up, and the products stay sparse enough for a million rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from minyi_nlp.hotspots.params import Source as EncoderSource

logger = logging.getLogger(__name__)

__all__ = ["EncoderSource", "GroupingEncoder", "grouping_encoder", "keep_top_terms", "keyword_vectors"]



class GroupingEncoder:
    """The shared encoder, as grouping uses it: preprocessed texts in, sparse vectors out.

    It pickles as its bundle's path when it came from a bundle (a Ray actor loads the bundle itself, the
    arrays memory-mapped) and as the fitted encoder otherwise.
    """

    def __init__(self, encoder: Any, bundle_dir: Path | None, description: str) -> None:
        self.encoder = encoder
        self.bundle_dir = bundle_dir
        self.description = description

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Vectors of preprocessed (normalised, masked) texts; very long texts keep their head and tail."""
        from minyi_nlp.models.encoder import clip_text

        limit = self.encoder.params.max_chars
        return self.encoder.transform_prepared([clip_text(t, limit) for t in texts])

    @property
    def n_features(self) -> int:
        return int(self.encoder.n_features)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.bundle_dir is not None:
            state["encoder"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.encoder is None:
            from minyi_nlp.models.bundle import load_bundle

            self.encoder = load_bundle(self.bundle_dir).encoder


def grouping_encoder(sample: Sequence[str], source: EncoderSource = "auto") -> GroupingEncoder:
    """The served bundle's encoder (``source`` auto or bundle), else one fitted on ``sample`` (preprocessed
    texts; ``source`` auto without a bundle, or input). A bundle that fails its integrity check is an error."""
    from minyi_nlp.models.bundle import ModelNotFoundError, load_bundle
    from minyi_nlp.models.registry import served_bundle_dir

    if source != "input":
        try:
            path = served_bundle_dir()
            bundle = load_bundle(path)
        except ModelNotFoundError as err:
            if source == "bundle":
                raise
            logger.warning("no trained bundle (%s): fitting the encoder on the first %d appeals of the input",
                           err, len(sample))
        else:
            return GroupingEncoder(bundle.encoder, path, f"bundle {bundle.version}")
    from minyi_nlp.models.encoder import Encoder
    from minyi_nlp.params import load_params

    encoder = Encoder(load_params().encoder).fit(list(sample))
    return GroupingEncoder(encoder, None, f"fitted on {len(sample)} input appeals")


def _top_mask(data: np.ndarray, rows: np.ndarray, pos: np.ndarray, n: int, k: int) -> np.ndarray:
    """Which entries (values ≥ 0, row-major, columns ascending) are among their row's ``k`` largest; ties go to
    the lower column. The k-th largest value of each row comes from a partial sort of the padded rows."""
    dense = np.full((n, int(pos.max()) + 1), -1.0, np.float32)
    dense[rows, pos] = data
    kth = -np.partition(-dense, k - 1, axis=1)[:, k - 1]
    threshold = kth[rows]
    above = data > threshold
    equal = data == threshold
    room = k - np.bincount(rows[above], minlength=n)  # how many of the row's ties still fit
    ties = np.cumsum(equal)
    first_tie = ties[np.searchsorted(rows, np.arange(n))] - equal[np.searchsorted(rows, np.arange(n))]
    tie_rank = ties - 1 - first_tie[rows]
    return above | (equal & (tie_rank < room[rows]))


def keep_top_terms(matrix: sp.csr_matrix, k: int, block: int = 2000) -> sp.csr_matrix:
    """Each row's ``k`` largest entries (ties: lower column first), L2-normalised again."""
    m = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    m.sort_indices()
    n = m.shape[0]
    counts = np.diff(m.indptr)
    keep = np.ones(m.nnz, bool)
    for start in range(0, n, block):
        stop = min(start + block, n)
        lo, hi = m.indptr[start], m.indptr[stop]
        if hi == lo or counts[start:stop].max() <= k:
            continue
        rows = np.repeat(np.arange(stop - start), counts[start:stop])
        pos = np.arange(hi - lo) - np.repeat(m.indptr[start:stop] - lo, counts[start:stop])
        keep[lo:hi] = _top_mask(m.data[lo:hi], rows, pos, stop - start, k)
    all_rows = np.repeat(np.arange(n), counts)
    data, kept_rows = m.data[keep], all_rows[keep]
    norms = np.sqrt(np.bincount(kept_rows, weights=data.astype(np.float64) ** 2, minlength=n))
    data = data / np.where(norms > 0, norms, 1.0)[kept_rows].astype(np.float32)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(kept_rows, minlength=n))])
    return sp.csr_matrix((data.astype(np.float32), m.indices[keep], indptr), shape=m.shape)


def keyword_vectors(
    encoder: GroupingEncoder,
    titles: Sequence[str],
    texts: Sequence[str],
    *,
    title_terms: int,
    body_terms: int,
    title_weight: float,
) -> sp.csr_matrix:
    """``[√w · top(title), √(1−w) · top(title + content)]`` per appeal: dot products are the weighted cosine."""
    t = keep_top_terms(encoder.transform(titles), title_terms)
    f = keep_top_terms(encoder.transform(texts), body_terms)
    joined = sp.hstack([t * np.float32(np.sqrt(title_weight)), f * np.float32(np.sqrt(1 - title_weight))])
    return sp.csr_matrix(joined, dtype=np.float32)
