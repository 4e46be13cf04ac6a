"""Per-appeal features for grouping, computed chunk by chunk (the part that runs in parallel).

:func:`featurize` turns a canonical frame (``id, source, row, title, content, submitted_at, user,
likes, dislikes``) into :class:`ChunkFeatures`: masked title and text head (for descriptions), the sites
named, the time, a citizen key, the votes, and the keyword vector as fixed-width arrays (``width``
columns of feature indices, ``-1`` padded, and their values) so that chunks can be appended to a file
and memory-mapped. It is a pure function of the frame, the fitted encoder and the parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from minyi_nlp.hotspots.describe import clean_title
from minyi_nlp.hotspots.heat import NO_TIME
from minyi_nlp.hotspots.params import HotspotParams
from minyi_nlp.hotspots.places import find_sites
from minyi_nlp.hotspots.vectors import GroupingEncoder, grouping_encoder, keyword_vectors

__all__ = ["ChunkFeatures", "PreparedTexts", "featurize", "fit_on", "prepare_texts", "to_csr", "vector_width"]


@dataclass(frozen=True)
class PreparedTexts:
    """Preprocessed (normalised, PII-masked) texts of a frame: what the encoder and the descriptions see."""

    titles: list[str]  # the title, or the content's first sentence when there is none
    texts: list[str]  # title + content
    heads: list[str]  # title + the first ``body_chars`` characters of the content


def prepare_texts(frame: pd.DataFrame, params: HotspotParams) -> PreparedTexts:
    from minyi_nlp.text import preprocess

    titles, texts, heads = [], [], []
    for title, content in zip(frame["title"].tolist(), frame["content"].tolist(), strict=True):
        body = preprocess(content if isinstance(content, str) else "")
        head = preprocess(title) if isinstance(title, str) and title.strip() else ""
        head = head or clean_title("", body)
        titles.append(head)
        texts.append(f"{head}。{body}")
        heads.append(f"{head}。{body[: params.body_chars]}")
    return PreparedTexts(titles, texts, heads)


def fit_on(
    frame: pd.DataFrame, params: HotspotParams, keep: np.ndarray | None = None
) -> tuple[GroupingEncoder, list[ChunkFeatures]]:
    """The grouping encoder (:func:`~minyi_nlp.hotspots.vectors.grouping_encoder` with ``params.encoder``: fitted
    on ``frame``, or the bundle's) and the features of the rows of ``frame`` at positions ``keep`` (default: all),
    in chunks of ``params.chunk_rows``."""
    prepared = prepare_texts(frame, params)
    encoder = grouping_encoder(prepared.texts, params.encoder)
    keep = np.arange(len(frame)) if keep is None else np.asarray(keep)
    chunks = []
    for start in range(0, len(keep), params.chunk_rows):
        part = keep[start : start + params.chunk_rows]
        texts = PreparedTexts(*([values[k] for k in part] for values in (prepared.titles, prepared.texts,
                                                                          prepared.heads)))
        chunks.append(featurize(frame.iloc[part].reset_index(drop=True), encoder, params, texts))
    return encoder, chunks


def vector_width(params: HotspotParams) -> int:
    return params.title_terms + params.body_terms


@dataclass
class ChunkFeatures:
    """Features of one chunk of appeals (row order kept)."""

    ids: list[str]
    titles: list[str]
    heads: list[str]
    sites: list[str]  # sites named in the title (else in the text head), joined by "|"
    times: np.ndarray  # int64 seconds, NO_TIME when unknown
    citizens: np.ndarray  # int64 key per distinct citizen
    likes: np.ndarray  # int64
    dislikes: np.ndarray  # int64
    cols: np.ndarray  # (rows, width) int32 feature indices, -1 = none
    vals: np.ndarray  # (rows, width) float32

    def __len__(self) -> int:
        return len(self.ids)


def _seconds(values: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(values, errors="coerce")
    out = ts.to_numpy(dtype="datetime64[s]").astype(np.int64)
    out[ts.isna().to_numpy()] = NO_TIME
    return out


def _citizen_keys(frame: pd.DataFrame) -> np.ndarray:
    """A stable int64 per user; rows without a user get a key of their own (file + row)."""
    users = frame["user"].astype("string")
    fallback = "\x00" + frame["source"].astype(str) + ":" + frame["row"].astype(str)
    keys = users.where(users.notna() & (users.str.strip() != ""), fallback).astype(str)
    return pd.util.hash_array(keys.to_numpy(dtype=object)).view(np.int64)


def _fixed_width(matrix: sp.csr_matrix, width: int) -> tuple[np.ndarray, np.ndarray]:
    n = matrix.shape[0]
    cols = np.full((n, width), -1, np.int32)
    vals = np.zeros((n, width), np.float32)
    counts = np.diff(matrix.indptr)
    rows = np.repeat(np.arange(n), counts)
    pos = np.arange(len(matrix.indices)) - np.repeat(matrix.indptr[:-1], counts)
    cols[rows, pos] = matrix.indices
    vals[rows, pos] = matrix.data
    return cols, vals


def to_csr(cols: np.ndarray, vals: np.ndarray, n_features: int) -> sp.csr_matrix:
    """The sparse matrix of fixed-width rows (inverse of the chunk layout)."""
    mask = cols >= 0
    indptr = np.concatenate([[0], np.cumsum(mask.sum(axis=1))])
    return sp.csr_matrix((vals[mask], cols[mask], indptr), shape=(cols.shape[0], n_features))


def featurize(
    frame: pd.DataFrame,
    encoder: GroupingEncoder,
    params: HotspotParams,
    prepared: PreparedTexts | None = None,
) -> ChunkFeatures:
    """Features of a canonical frame (``prepared``: its texts, when already preprocessed)."""
    prepared = prepared or prepare_texts(frame, params)
    vectors = keyword_vectors(
        encoder,
        prepared.titles,
        prepared.texts,
        title_terms=params.title_terms,
        body_terms=params.body_terms,
        title_weight=params.title_weight,
    )
    cols, vals = _fixed_width(vectors, vector_width(params))
    return ChunkFeatures(
        ids=frame["id"].astype(str).tolist(),
        titles=prepared.titles,
        heads=prepared.heads,
        sites=["|".join(find_sites(t) or find_sites(h)) for t, h in zip(prepared.titles, prepared.heads, strict=True)],
        times=_seconds(frame["submitted_at"]),
        citizens=_citizen_keys(frame),
        likes=np.asarray(frame["likes"], dtype=np.int64),
        dislikes=np.asarray(frame["dislikes"], dtype=np.int64),
        cols=cols,
        vals=vals,
    )


def n_features(encoder: GroupingEncoder) -> int:
    """Columns of the keyword vectors (title block + full-text block)."""
    return 2 * encoder.n_features
