"""An index of earlier appeals: dense ANN candidates per time shard, then a same-matter re-rank.

Appeals are kept in shards of ``shard_days`` of ``received_at``, each a usearch HNSW graph over the dense
vectors (``embed`` output, unit rows) plus the appeals' metadata and sparse sketches. A query searches only
the shards that overlap its window, takes ``candidates`` nearest vectors from each (exhaustively in small
shards), keeps those received in ``[at - window, at]`` and re-ranks them by the cosine of their sparse
sketches (:mod:`minyi_nlp.similar.sketch`), halved when both name places that differ: landmarks such as
estates and roads that conflict (:mod:`minyi_nlp.similar.landmarks`), or jurisdictions that differ while no
landmark is shared (a shared landmark is more specific than the router's district). Matches whose score
reaches the threshold are the same matter. Memory is bounded by ``retention_days`` / ``max_items``
(whole shards are dropped, oldest first), and the index can be rebuilt at start-up by ``add``-ing the
stored vectors and sketches again.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from minyi_nlp.similar.landmarks import relation
from minyi_nlp.similar.settings import SimilarSettings
from minyi_nlp.similar.sketch import EMPTY, sketch_cosine, sketch_rows

__all__ = ["Match", "SimilarIndex", "to_seconds"]

_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Match:
    """An earlier appeal that reports the same matter (``score`` ≥ the threshold unless asked otherwise)."""

    id: Hashable
    score: float
    received_at: datetime
    jurisdiction: str | None
    route: str | None


def to_seconds(value: Any) -> float:
    """Seconds since the epoch (UTC) of a datetime (naive = UTC), a pandas/numpy time or a number."""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, np.datetime64):
        return float(value.astype("datetime64[us]").astype(np.int64)) / 1e6
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    raise TypeError(f"received_at/at must be a datetime or seconds since the epoch, got {type(value).__name__}")


def _as_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


class _Strings:
    """Interned optional strings (jurisdictions, routes) ↔ small integer codes; -1 is None."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, value: str | None) -> int:
        if value is None or value == "":
            return -1
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.values)
            self.values.append(value)
        return code

    def value(self, code: int) -> str | None:
        return None if code < 0 else self.values[code]


class _Shard:
    """The appeals of one time bucket: per-slot columns, and their vectors in a plain array (searched
    exhaustively) until the shard holds more than ``exact_below`` appeals, then in a usearch HNSW graph
    keyed by slot (a graph reserves ~16 MB up front, too much for small shards)."""

    _COLUMNS = ("times", "places", "routes", "alive", "has_sketch")

    def __init__(self, bucket: int, ndim: int, settings: SimilarSettings) -> None:
        self.bucket = bucket
        self.settings = settings
        self.m = settings.sketch_size
        self.size = 0
        self.live = 0
        self.graph: Any = None
        self.vectors: np.ndarray | None = np.zeros((0, ndim), dtype=np.float32)
        self.ids: list[Hashable] = []
        self.landmarks: list[frozenset[str]] = []
        self.times = np.zeros(0, dtype=np.float64)
        self.places = np.zeros(0, dtype=np.int32)
        self.routes = np.zeros(0, dtype=np.int32)
        self.alive = np.zeros(0, dtype=bool)
        self.has_sketch = np.zeros(0, dtype=bool)
        self.sketch_ids = np.zeros((0, self.m), dtype=np.uint32)
        self.sketch_weights = np.zeros((0, self.m), dtype=np.float16)

    def _grow(self, extra: int) -> None:
        need = self.size + extra
        cap = len(self.times)
        if need <= cap:
            return
        cap = max(need, 2 * cap, 64)
        names = [(n, 0) for n in self._COLUMNS] + [("sketch_ids", EMPTY), ("sketch_weights", 0)]
        if self.vectors is not None:
            names.append(("vectors", 0))
        for name, fill in names:
            old = getattr(self, name)
            new = np.full((cap, *old.shape[1:]), fill, dtype=old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def _build_graph(self) -> None:
        from usearch.index import Index

        s = self.settings
        self.graph = Index(ndim=self.vectors.shape[1], metric="cos", dtype=s.dtype, connectivity=s.connectivity,
                           expansion_add=s.expansion_add, expansion_search=s.expansion_search)
        live = np.flatnonzero(self.alive[: self.size])
        self.graph.add(live.astype(np.uint64), self.vectors[live], threads=1)
        self.vectors = None

    def append(self, ids: Sequence[Hashable], vectors: np.ndarray, times: np.ndarray, places: np.ndarray,
               routes: np.ndarray, sketch: tuple[np.ndarray, np.ndarray] | None,
               landmarks: Sequence[frozenset[str]]) -> np.ndarray:
        n = len(ids)
        self._grow(n)
        slots = np.arange(self.size, self.size + n)
        self.times[slots], self.places[slots], self.routes[slots] = times, places, routes
        self.alive[slots] = True
        if sketch is not None:
            self.sketch_ids[slots], self.sketch_weights[slots] = sketch
            self.has_sketch[slots] = True
        if self.graph is not None:
            self.graph.add(slots.astype(np.uint64), vectors, threads=1)
        else:
            self.vectors[slots] = vectors
        self.ids.extend(ids)
        self.landmarks.extend(landmarks)
        self.size += n
        self.live += n
        if self.graph is None and self.live > self.settings.exact_below:
            self._build_graph()
        return slots

    def remove(self, slot: int) -> None:
        if self.alive[slot]:
            self.alive[slot] = False
            self.live -= 1
            if self.graph is not None:
                self.graph.remove(int(slot))

    def nearest(self, vector: np.ndarray, count: int, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        """Slots and dense cosines of up to ``count`` nearest live appeals received in ``[lo, hi]``."""
        if self.graph is None:
            size = self.size
            ok = self.alive[:size] & (self.times[:size] >= lo) & (self.times[:size] <= hi)
            slots = np.flatnonzero(ok)
            # einsum over the contiguous block: no row copy, and no BLAS thread pool on a busy machine
            sims = np.einsum("ij,j->i", self.vectors[:size], vector)[slots]
            if len(slots) > count:
                top = np.argpartition(-sims, count - 1)[:count]
                slots, sims = slots[top], sims[top]
            return slots, sims
        found = self.graph.search(vector, min(count, self.live), threads=1)
        slots = np.asarray(found.keys, dtype=np.int64)
        sims = 1.0 - np.asarray(found.distances, dtype=np.float32)
        ok = self.alive[slots] & (self.times[slots] >= lo) & (self.times[slots] <= hi)
        return slots[ok], sims[ok]

    def memory_bytes(self) -> int:
        names = (*self._COLUMNS, "sketch_ids", "sketch_weights")
        held = sum(getattr(self, n).nbytes for n in names) + 16 * len(self.ids)
        return held + (int(self.graph.memory_usage) if self.graph is not None else self.vectors.nbytes)


class SimilarIndex:
    """Earlier appeals by time shard; ``query`` returns those that report the same matter.

    ``vectors`` are dense unit rows (``Encoder.embed``); ``sparse`` (optional, one L2-normalised row per
    appeal, e.g. the encoder's TF-IDF vector) gives the sketches the re-rank needs — without it the score is
    the dense cosine, compared with ``dense_threshold``. Thread-safe (one lock).
    """

    def __init__(self, ndim: int, settings: SimilarSettings | None = None) -> None:
        if ndim < 1:
            raise ValueError(f"ndim must be positive, got {ndim}")
        self.ndim = ndim
        self.settings = settings or SimilarSettings()
        self._shards: dict[int, _Shard] = {}
        self._where: dict[Hashable, tuple[int, int]] = {}
        self._places = _Strings()
        self._routes = _Strings()
        self._newest = -math.inf
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, appeal_id: object) -> bool:
        return appeal_id in self._where

    def stats(self) -> dict[str, int]:
        """Appeals, shards and approximate bytes held (graphs + columns)."""
        with self._lock:
            return {"appeals": len(self._where), "shards": len(self._shards),
                    "memory_bytes": sum(s.memory_bytes() for s in self._shards.values())}

    # ------------------------------------------------------------------ writing
    def _check_vectors(self, vectors: Any, n: int) -> np.ndarray:
        arr = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(n, -1))
        if arr.shape[1] != self.ndim:
            raise ValueError(f"vectors have {arr.shape[1]} dimensions, the index {self.ndim}")
        if not np.isfinite(arr).all():
            bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
            raise ValueError(f"vector {bad} has NaN or infinite values")
        return arr

    def add(
        self,
        ids: Sequence[Hashable],
        vectors: Any,
        received_at: Iterable[Any],
        jurisdiction: Iterable[str | None],
        route: Iterable[str | None],
        *,
        sparse: sp.spmatrix | sp.sparray | None = None,
        landmarks: Sequence[frozenset[str]] | None = None,
    ) -> None:
        """Store appeals (an id already stored is replaced). All sequences have one entry per appeal;
        ``landmarks`` (optional) are :func:`minyi_nlp.similar.landmarks.landmarks` of each masked text."""
        ids = list(ids)
        n = len(ids)
        if n == 0:
            return
        if len(set(ids)) != n:
            raise ValueError("ids must be unique within one add() call")
        arr = self._check_vectors(vectors, n)
        times = np.array([to_seconds(t) for t in received_at], dtype=np.float64)
        places, routes = list(jurisdiction), list(route)
        marks = [frozenset()] * n if landmarks is None else [x if isinstance(x, frozenset) else frozenset(x)
                                                             for x in landmarks]
        for name, values in (("received_at", times), ("jurisdiction", places), ("route", routes),
                             ("landmarks", marks)):
            if len(values) != n:
                raise ValueError(f"{name} has {len(values)} entries for {n} ids")
        sketch = None
        if sparse is not None:
            if sparse.shape[0] != n:
                raise ValueError(f"sparse has {sparse.shape[0]} rows for {n} ids")
            sketch = sketch_rows(sparse, self.settings.sketch_size)
        with self._lock:
            for appeal_id in ids:
                if appeal_id in self._where:
                    self._remove(appeal_id)
            place_codes = np.array([self._places.code(p) for p in places], dtype=np.int32)
            route_codes = np.array([self._routes.code(r) for r in routes], dtype=np.int32)
            buckets = np.floor(times / (self.settings.shard_days * _DAY)).astype(np.int64)
            for bucket in np.unique(buckets):
                rows = np.flatnonzero(buckets == bucket)
                shard = self._shards.get(int(bucket))
                if shard is None:
                    shard = self._shards[int(bucket)] = _Shard(int(bucket), self.ndim, self.settings)
                part = None if sketch is None else (sketch[0][rows], sketch[1][rows])
                slots = shard.append([ids[i] for i in rows], arr[rows], times[rows], place_codes[rows],
                                     route_codes[rows], part, [marks[i] for i in rows])
                for i, slot in zip(rows, slots, strict=True):
                    self._where[ids[i]] = (int(bucket), int(slot))
            self._newest = max(self._newest, float(times.max()))
            self._evict()

    def _remove(self, appeal_id: Hashable) -> bool:
        where = self._where.pop(appeal_id, None)
        if where is None:
            return False
        self._shards[where[0]].remove(where[1])
        return True

    def remove(self, appeal_id: Hashable) -> bool:
        """Forget one appeal; False when it was not stored."""
        with self._lock:
            return self._remove(appeal_id)

    def set_route(self, appeal_id: Hashable, route: str | None) -> bool:
        """Record how a stored appeal was dispatched (after the decision); False when it is not stored."""
        with self._lock:
            where = self._where.get(appeal_id)
            if where is None:
                return False
            self._shards[where[0]].routes[where[1]] = self._routes.code(route)
            return True

    def _drop(self, bucket: int) -> None:
        shard = self._shards.pop(bucket)
        for slot, appeal_id in enumerate(shard.ids):
            if shard.alive[slot]:
                self._where.pop(appeal_id, None)

    def _evict(self) -> None:
        s = self.settings
        if s.retention_days is not None:
            horizon = self._newest - s.retention_days * _DAY
            for bucket in [b for b in self._shards if (b + 1) * s.shard_days * _DAY <= horizon]:
                self._drop(bucket)
        if s.max_items is not None:
            for bucket in sorted(self._shards):
                if len(self._where) <= s.max_items or len(self._shards) == 1:
                    break
                self._drop(bucket)

    # ------------------------------------------------------------------ reading
    def _places_differ(self, query_place: str | None, codes: np.ndarray) -> np.ndarray:
        """Both name a place, neither is neutral and neither contains the other ("A3区" vs "A3区洋湖街道")."""
        neutral = self.settings.neutral_places
        if not query_place or query_place in neutral:
            return np.zeros(len(codes), dtype=bool)
        out = np.zeros(len(codes), dtype=bool)
        for code in np.unique(codes):
            other = self._places.value(int(code))
            if other and other not in neutral and not (other.startswith(query_place) or
                                                         query_place.startswith(other)):
                out[codes == code] = True
        return out

    def query(
        self,
        vector: Any,
        *,
        at: Any,
        window_days: float | None = None,
        jurisdiction: str | None = None,
        k: int | None = None,
        sparse: sp.spmatrix | sp.sparray | None = None,
        exclude: Hashable | None = None,
        min_score: float | None = None,
        same_jurisdiction_only: bool = False,
        landmarks: frozenset[str] | None = None,
    ) -> list[Match]:
        """Up to ``k`` appeals received in ``[at - window_days, at]`` that report the same matter, best first.

        ``jurisdiction`` is the new appeal's place: a stored appeal that names another one scores
        ``place_penalty`` × its score (or is skipped with ``same_jurisdiction_only``) unless the two share a
        landmark; one whose ``landmarks`` conflict with the new appeal's scores the same. ``sparse`` is the
        new appeal's sparse row (see the class). ``min_score`` defaults to the threshold that applies.
        """
        s = self.settings
        q = self._check_vectors(vector, 1)[0]
        at_s = to_seconds(at)
        window = s.window_days if window_days is None else float(window_days)
        lo = at_s - window * _DAY
        k = s.k if k is None else int(k)
        q_sketch = None if sparse is None else sketch_rows(sparse[:1], s.sketch_size)
        width = s.shard_days * _DAY
        with self._lock:
            found: list[tuple[_Shard, np.ndarray, np.ndarray]] = []
            for bucket, shard in self._shards.items():
                if (bucket + 1) * width <= lo or bucket * width > at_s or shard.live == 0:
                    continue
                slots, dense = shard.nearest(q, s.candidates, lo, at_s)
                keep = np.ones(len(slots), dtype=bool)
                if same_jurisdiction_only:
                    keep &= shard.places[slots] == self._places.codes.get(jurisdiction or "", -2)
                if keep.any():
                    found.append((shard, slots[keep], dense[keep]))
            matches: list[tuple[float, float, Match]] = []
            for shard, slots, dense in found:
                use_sketch = shard.has_sketch[slots] if q_sketch is not None else np.zeros(len(slots), bool)
                score = dense.astype(np.float32)
                if use_sketch.any():
                    sk = slots[use_sketch]
                    score[use_sketch] = sketch_cosine(q_sketch[0][0], q_sketch[1][0], shard.sketch_ids[sk],
                                                      shard.sketch_weights[sk])
                score = np.minimum(score, 1.0)
                floor = np.broadcast_to(np.where(use_sketch, s.threshold, s.dense_threshold)
                                        if min_score is None else min_score, score.shape)
                near = np.flatnonzero(score >= floor)  # the place penalty only lowers a score: check these only
                differ = self._places_differ(jurisdiction, shard.places[slots[near]])
                if landmarks:
                    rel = np.array([relation(landmarks, shard.landmarks[slots[i]]) for i in near], dtype=np.int8)
                    differ = (differ & (rel <= 0)) | (rel < 0)
                score[near] = np.where(differ, score[near] * s.place_penalty, score[near])
                for i in near[score[near] >= floor[near]]:
                    slot = int(slots[i])
                    appeal_id = shard.ids[slot]
                    if appeal_id == exclude:
                        continue
                    when = float(shard.times[slot])
                    matches.append((float(score[i]), when, Match(appeal_id, round(float(score[i]), 4),
                                                                 _as_datetime(when),
                                                                 self._places.value(int(shard.places[slot])),
                                                                 self._routes.value(int(shard.routes[slot])))))
        matches.sort(key=lambda m: (-m[0], -m[1]))
        return [m for _, _, m in matches[:k]]
