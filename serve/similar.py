"""Similar earlier appeals (并单) in the service: the shared encoder's rows fed to
:class:`minyi_nlp.similar.SimilarIndex`.

Each appeal's masked title and content are encoded once by the dispatcher's bundle: the sparse TF-IDF row
(the index keeps its heaviest features as a "sketch" for the re-rank) and the dense ``embed`` row (for the
candidate search), plus the landmarks at the head of the text. The service stores the dense row and the
sketch with the appeal, so that the index is rebuilt at start-up without encoding again; rows made by
another bundle are recomputed from the stored masked text. A dispatcher without a bundle (tests, or an
older model) gets dense rows only (``dispatcher.embed`` or :func:`fallback_embed`), which the index
compares with its stricter dense threshold. Settings: ``MINYI_SIMILAR_*`` (:class:`SimilarSettings`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from minyi_nlp.similar import SimilarIndex, SimilarSettings
from minyi_nlp.similar.landmarks import landmarks
from minyi_nlp.similar.sketch import EMPTY, sketch_rows

FALLBACK_DIM = 384
FALLBACK_VERSION = f"char-hash-1-2-{FALLBACK_DIM}-v1"
SKETCH_BYTES = 6  # per feature: uint32 id + float16 weight


@dataclass(frozen=True)
class Encoded:
    """What the index needs of some appeals: dense unit rows, sparse rows (or None), landmarks."""

    dense: np.ndarray
    sparse: sp.csr_matrix | None
    marks: list[frozenset[str]]


def embed_version(dispatcher: Any) -> str:
    """What stored rows were made with (the bundle, whose encoder makes them; not the lists)."""
    bundle = getattr(dispatcher, "bundle", None)
    if bundle is not None and hasattr(bundle, "encode"):
        return str(bundle.version)
    if hasattr(dispatcher, "embed"):
        return str(getattr(dispatcher, "embed_version", None) or dispatcher.version)
    return FALLBACK_VERSION


def fallback_embed(texts: Sequence[str]) -> np.ndarray:
    """Hashed character unigrams and bigrams, L2-normalised: near-duplicate texts score high. Only for a
    dispatcher without the shared encoder."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(analyzer="char", ngram_range=(1, 2), n_features=FALLBACK_DIM, alternate_sign=False,
                            norm="l2", lowercase=False)
    return vec.transform(list(texts)).toarray().astype(np.float32)


def encode(dispatcher: Any, masked_texts: Sequence[str]) -> Encoded:
    """Encode masked texts (title and content composed) with the dispatcher's shared encoder."""
    texts = list(masked_texts)
    bundle = getattr(dispatcher, "bundle", None)
    sparse = None
    if bundle is not None and hasattr(bundle, "encode"):
        X, _ = bundle.encode(texts)
        sparse = sp.csr_matrix(X)
        dense = bundle.encoder.embed(X)
    elif hasattr(dispatcher, "embed"):
        dense = dispatcher.embed(texts)
    else:
        dense = fallback_embed(texts)
    return Encoded(np.asarray(dense, dtype=np.float32), sparse, [landmarks(t) for t in texts])


def make_index(ndim: int, default_city: str | None) -> SimilarIndex:
    """An empty index; the default city agrees with any place ("no district named") unless
    ``MINYI_SIMILAR_NEUTRAL_PLACES`` says otherwise."""
    settings = SimilarSettings()
    if not settings.neutral_places and default_city:
        settings = settings.model_copy(update={"neutral_places": frozenset({default_city})})
    return SimilarIndex(ndim, settings)


def find_similar(index: SimilarIndex, enc: Encoded, row: int, received_at: datetime, jurisdiction: str | None,
                 k: int | None = None) -> list[tuple[str, float]]:
    """Up to ``k`` earlier appeals of the same matter as row ``row`` of ``enc``, best first: (id, score).
    The one place the service asks for similar appeals."""
    sparse = None if enc.sparse is None else enc.sparse[row]
    matches = index.query(enc.dense[row], at=received_at, jurisdiction=jurisdiction, k=k, sparse=sparse,
                          landmarks=enc.marks[row])
    return [(str(m.id), m.score) for m in matches]


def add(index: SimilarIndex, ids: Sequence[str], enc: Encoded, received_at: Sequence[datetime],
        jurisdictions: Sequence[str | None]) -> None:
    """Store appeals (routes are read from the database, not kept here)."""
    index.add(list(ids), enc.dense, list(received_at), list(jurisdictions), [None] * len(ids), sparse=enc.sparse,
              landmarks=enc.marks)


# --------------------------------------------------------------------------- stored form


def dense_bytes(row: np.ndarray) -> bytes:
    return np.asarray(row, dtype=np.float16).tobytes()


def sketch_bytes(sparse: sp.csr_matrix | None, row: int, size: int) -> bytes | None:
    """Row ``row``'s sketch (``size`` heaviest features) as bytes: uint32 ids then float16 weights."""
    if sparse is None:
        return None
    ids, weights = sketch_rows(sparse[row], size)
    keep = ids[0] != EMPTY
    return ids[0][keep].astype(np.uint32).tobytes() + weights[0][keep].astype(np.float16).tobytes()


def from_stored(dense: Sequence[bytes], sketches: Sequence[bytes | None], texts: Sequence[str]) -> Encoded:
    """Stored rows back as :class:`Encoded` (a sketch is a sparse row with only its heaviest features,
    which the index sketches to itself)."""
    rows = np.stack([np.frombuffer(b, dtype=np.float16).astype(np.float32) for b in dense])
    sparse = None
    if all(s is not None for s in sketches):
        indptr, indices, data = [0], [], []
        for s in sketches:
            n = len(s) // SKETCH_BYTES  # type: ignore[arg-type]
            indices.append(np.frombuffer(s[: 4 * n], dtype=np.uint32))  # type: ignore[index]
            data.append(np.frombuffer(s[4 * n :], dtype=np.float16).astype(np.float32))  # type: ignore[index]
            indptr.append(indptr[-1] + n)
        cols = np.concatenate(indices).astype(np.int64) if indices else np.zeros(0, np.int64)
        width = int(cols.max()) + 1 if len(cols) else 1
        sparse = sp.csr_matrix((np.concatenate(data), cols, np.array(indptr)), shape=(len(sketches), width))
    return Encoded(rows, sparse, [landmarks(t) for t in texts])
