"""Similar earlier appeals (并单 candidates): the narrow interface the service uses, and a simple exact index.

The service calls one function, :func:`find_similar`, over a :class:`SimilarIndex`. The index here,
:class:`ExactIndex`, is exact and in memory (cosine over every vector in the time window); the library
``minyi_nlp.similar`` (an approximate index with a time window and place) replaces it behind the same
interface. Vectors come from ``dispatcher.embed(texts)`` (unit rows, float32) on the masked text, so the
index can be rebuilt from the database; a dispatcher without ``embed`` gets :func:`fallback_embed`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np

FALLBACK_DIM = 384
FALLBACK_VERSION = f"char-hash-1-2-{FALLBACK_DIM}-v1"
_BLOCK = 16_384


class SimilarIndex(Protocol):
    """Unit vectors of stored appeals with their time and place."""

    def add(self, id: str, vector: np.ndarray, received_at: datetime, jurisdiction: str | None,
            route: str | None) -> None: ...

    def query(self, vector: np.ndarray, received_at: datetime, jurisdiction: str | None,
              k: int) -> list[tuple[str, float]]: ...

    def __len__(self) -> int: ...


def same_place(a: str | None, b: str | None, default_city: str | None) -> bool:
    """Two places may be the same: equal, one inside the other (``A3区`` ⊃ ``A3区洋湖街道``), or either
    unknown (no place named: the default city)."""
    if not a or not b or a == default_city or b == default_city:
        return True
    return a == b or a.startswith(b) or b.startswith(a)


class ExactIndex:
    """Exact cosine search over float16 copies of the vectors; thread-safe; ``window`` back from the
    query's time (appeals up to the query's time, never later ones); ``min_score`` cut."""

    def __init__(self, *, window: timedelta, min_score: float, default_city: str | None = None,
                 version: str | None = None) -> None:
        self.window = window
        self.min_score = min_score
        self.default_city = default_city
        self.version = version
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._places: list[str | None] = []
        self._times = np.empty(0, dtype=np.float64)
        self._vectors: np.ndarray | None = None
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(self, id: str, vector: np.ndarray, received_at: datetime, jurisdiction: str | None,
            route: str | None = None) -> None:
        self.add_many([id], np.asarray(vector, dtype=np.float32)[None, :], [received_at], [jurisdiction])

    def add_many(self, ids: Sequence[str], vectors: np.ndarray, times: Sequence[datetime],
                 places: Sequence[str | None]) -> None:
        vectors = np.asarray(vectors, dtype=np.float16)
        with self._lock:
            if self._vectors is None:
                self._vectors = np.empty((max(1024, len(ids)), vectors.shape[1]), dtype=np.float16)
                self._times = np.empty(self._vectors.shape[0], dtype=np.float64)
            if vectors.shape[1] != self._vectors.shape[1]:
                raise ValueError(f"vector dimension {vectors.shape[1]} != the index's {self._vectors.shape[1]}")
            need = self._n + len(ids)
            if need > self._vectors.shape[0]:
                size = max(need, 2 * self._vectors.shape[0])
                self._vectors = np.resize(self._vectors, (size, vectors.shape[1]))
                self._times = np.resize(self._times, size)
            self._vectors[self._n : need] = vectors
            self._times[self._n : need] = [t.timestamp() for t in times]
            self._ids.extend(ids)
            self._places.extend(places)
            self._n = need

    def query(self, vector: np.ndarray, received_at: datetime, jurisdiction: str | None,
              k: int) -> list[tuple[str, float]]:
        with self._lock:
            n, vectors, times = self._n, self._vectors, self._times
        if not n or vectors is None:
            return []
        t = received_at.timestamp()
        rows = np.flatnonzero((times[:n] >= t - self.window.total_seconds()) & (times[:n] <= t))
        q = np.asarray(vector, dtype=np.float32)
        hits: list[tuple[float, int]] = []
        for start in range(0, len(rows), _BLOCK):
            block = rows[start : start + _BLOCK]
            scores = vectors[block].astype(np.float32) @ q
            keep = np.flatnonzero(scores >= self.min_score)
            hits += [(float(scores[i]), int(block[i])) for i in keep]
        hits.sort(key=lambda h: (-h[0], -times[h[1]]))
        out = []
        for score, row in hits:
            if same_place(jurisdiction, self._places[row], self.default_city):
                out.append((self._ids[row], round(min(score, 1.0), 4)))
                if len(out) >= k:
                    break
        return out


def find_similar(index: SimilarIndex, vector: np.ndarray, received_at: datetime, jurisdiction: str | None,
                 k: int) -> list[tuple[str, float]]:
    """Up to ``k`` earlier appeals of the same matter, best first: (id, score). The one call site."""
    return index.query(vector, received_at, jurisdiction, k)


# --------------------------------------------------------------------------- vectors


def embed_version(dispatcher: Any) -> str:
    """What the stored vectors were made with (the bundle, whose encoder makes them; not the lists); vectors
    of another version are recomputed."""
    if not hasattr(dispatcher, "embed"):
        return FALLBACK_VERSION
    bundle = getattr(dispatcher, "bundle", None)
    return str(getattr(dispatcher, "embed_version", None) or getattr(bundle, "version", None) or dispatcher.version)


def fallback_embed(texts: Sequence[str]) -> np.ndarray:
    """Hashed character unigrams and bigrams, L2-normalised: near-duplicate texts score high. Used only
    while the loaded dispatcher has no ``embed`` (the shared encoder of the "one encoder" rewrite)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(analyzer="char", ngram_range=(1, 2), n_features=FALLBACK_DIM, alternate_sign=False,
                            norm="l2", lowercase=False)
    return vec.transform(list(texts)).toarray().astype(np.float32)


def embed(dispatcher: Any, masked_texts: Sequence[str]) -> np.ndarray:
    """Unit float32 rows for masked texts (``dispatcher.embed`` when it has one)."""
    if not masked_texts:
        return np.empty((0, FALLBACK_DIM), dtype=np.float32)
    out = dispatcher.embed(list(masked_texts)) if hasattr(dispatcher, "embed") else fallback_embed(masked_texts)
    return np.asarray(out, dtype=np.float32)


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float16).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float16).astype(np.float32)
