"""Find the hot issues in a stream of appeals, with memory bounded by chunks and windows, locally or on Ray.

1. **Featurise** (the costly part, parallel): rows are re-cut into chunks (the first ``fit_rows`` rows,
   which the encoder is fitted on unless it comes from a bundle, then ``chunk_rows`` each) and each chunk becomes
   :class:`~minyi_nlp.hotspots.features.ChunkFeatures`. Keyword vectors are appended to files in a
   work directory and memory-mapped; ids, titles and text heads go to one Parquet file per chunk; only
   the time, citizen key, votes and site names of each row stay in memory.
2. **Link** (one process): rows are ordered by time and cut into windows of ``window_rows`` that overlap
   by ``window_overlap``; each window's similar pairs go to one :class:`SiteLinker`. With fewer rows than
   a window this is exactly the all-pairs grouping.
3. **Score and describe**: the heat of every group (:func:`~minyi_nlp.hotspots.heat.group_table`), then
   place and description for the ``top`` hottest, read back from the chunk files.

``engine="ray"`` runs step 1 as Ray tasks (a local Ray instance with ``workers`` CPUs, or the cluster at
``ray_address``); the result is the same as the local engine's, row for row.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from minyi_nlp.hotspots.describe import clean_title, describe_group, group_place, representative
from minyi_nlp.hotspots.features import ChunkFeatures, featurize, fit_on, n_features, to_csr, vector_width
from minyi_nlp.hotspots.heat import NO_TIME, group_table
from minyi_nlp.hotspots.linking import SiteLinker, average_groups, hdbscan_groups, similar_pairs
from minyi_nlp.hotspots.params import HotspotParams
from minyi_nlp.hotspots.places import site_signature
from minyi_nlp.hotspots.vectors import GroupingEncoder

logger = logging.getLogger(__name__)

__all__ = ["Hotspot", "HotspotResult", "find_hotspots"]

Engine = Literal["local", "ray"]
_DAY = 86400


@dataclass
class Hotspot:
    """One hot issue: a group of appeals about one event, with its heat and description."""

    rank: int
    heat: float
    place: str
    people: str
    title: str
    description: str
    start: datetime | None
    end: datetime | None
    n: int
    citizens: int
    likes: int
    dislikes: int
    span_days: float
    support: float
    recency: float
    burst: float
    growth: float
    ids: list[str]  # members in time order
    times: list[datetime | None]
    member_titles: list[str]  # masked

    def contract(self) -> dict[str, Any]:
        """The ``--format json`` record: rank, heat, place, description, start, end, n, ids."""
        return {
            "rank": self.rank,
            "heat": round(self.heat, 2),
            "place": self.place or self.people,
            "description": self.description,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "n": self.n,
            "ids": self.ids,
        }

    def record(self) -> dict[str, Any]:
        """Every field for the JSON report (times as ISO strings)."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("times", "member_titles")}
        out.update(start=_iso(self.start), end=_iso(self.end), heat=round(self.heat, 2))
        for k in ("span_days", "support", "recency", "burst", "growth"):
            out[k] = round(float(out[k]), 3)
        return out


@dataclass
class HotspotResult:
    hotspots: list[Hotspot]
    rows: int  # appeals grouped (after the time filter)
    outside: int  # appeals left out by since/until (or without a time when one is given)
    groups: int  # groups with at least two appeals
    grouped_rows: int  # appeals in those groups
    reference: datetime | None
    params: HotspotParams
    seconds: dict[str, float] = field(default_factory=dict)
    refused_links: int = 0  # links not made because the two groups name different sites
    encoder: str = ""  # which encoder made the vectors

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "outside_time_range": self.outside,
            "groups": self.groups,
            "grouped_rows": self.grouped_rows,
            "refused_links": self.refused_links,
            "reference_time": _iso(self.reference),
            "method": self.params.method,
            "encoder": self.encoder,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="seconds") if t else None


def _dt(seconds: float | int | None) -> datetime | None:
    if seconds is None or (isinstance(seconds, float) and np.isnan(seconds)) or seconds == NO_TIME:
        return None
    return pd.Timestamp(int(seconds), unit="s").to_pydatetime()


# --------------------------------------------------------------------------- chunking and engines


def _rechunk(frames: Iterable[pd.DataFrame], first: int, size: int) -> Iterator[pd.DataFrame]:
    """The rows of ``frames`` as chunks of ``first`` rows, then ``size`` rows (the last may be shorter)."""
    pending: list[pd.DataFrame] = []
    have = 0
    want = first
    for frame in frames:
        pending.append(frame)
        have += len(frame)
        if have < want:
            continue
        joined = pd.concat(pending, ignore_index=True)
        start = 0
        while have - start >= want:
            yield joined.iloc[start : start + want].reset_index(drop=True)
            start, want = start + want, size
        rest = joined.iloc[start:].reset_index(drop=True)
        pending, have = ([rest] if len(rest) else []), len(rest)
    if have:
        yield pd.concat(pending, ignore_index=True)


def _in_range(frame: pd.DataFrame, since: datetime | None, until: datetime | None) -> pd.DataFrame:
    if since is None and until is None:
        return frame
    ts = pd.to_datetime(frame["submitted_at"], errors="coerce")
    keep = ts.notna()
    if since is not None:
        keep &= ts >= pd.Timestamp(since)
    if until is not None:
        keep &= ts <= pd.Timestamp(until)
    return frame.loc[keep.to_numpy()].reset_index(drop=True)


class _Featurizer:
    """Ray actor: holds the fitted encoder (deserialised once) and featurises the chunks it is sent."""

    def __init__(self, encoder: GroupingEncoder, params: HotspotParams) -> None:
        self.encoder, self.params = encoder, params

    def run(self, frame: pd.DataFrame) -> ChunkFeatures:
        return featurize(frame, self.encoder, self.params)


def _map_local(
    frames: Iterator[pd.DataFrame], encoder: GroupingEncoder, params: HotspotParams
) -> Iterator[ChunkFeatures]:
    for frame in frames:
        yield featurize(frame, encoder, params)


def _map_ray(
    frames: Iterator[pd.DataFrame],
    encoder: GroupingEncoder,
    params: HotspotParams,
    workers: int | None,
    ray_address: str | None,
) -> Iterator[ChunkFeatures]:
    """``workers`` Ray actors featurise the chunks (round robin, at most two in flight per actor); results come
    back in input order, so the output is the local engine's."""
    try:
        import ray
    except ImportError as err:  # pragma: no cover - ray is a declared extra
        raise RuntimeError("the Ray engine needs ray: pip install 'minyi[ray]'") from err
    started = False
    if not ray.is_initialized():
        if ray_address:
            ray.init(address=ray_address, logging_level=logging.WARNING, log_to_driver=True)
        else:
            ray.init(num_cpus=workers or 1, include_dashboard=False, logging_level=logging.WARNING,
                     log_to_driver=True)
        started = True
    try:
        n = max(1, int(workers or ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1)(_Featurizer)
        enc_ref = ray.put(encoder)
        pool = [actor.remote(enc_ref, params) for _ in range(n)]
        pending: list[Any] = []
        for k, frame in enumerate(frames):
            pending.append(pool[k % n].run.remote(frame))
            if len(pending) >= 2 * n:
                yield ray.get(pending.pop(0))
        while pending:
            yield ray.get(pending.pop(0))
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------- the row store


class _Store:
    """Features of every row: vectors memory-mapped from the work directory, texts in Parquet per chunk."""

    def __init__(self, workdir: Path, width: int) -> None:
        self.dir = workdir
        self.width = width
        self._cols = (workdir / "cols.bin").open("wb")
        self._vals = (workdir / "vals.bin").open("wb")
        self.times: list[np.ndarray] = []
        self.citizens: list[np.ndarray] = []
        self.likes: list[np.ndarray] = []
        self.dislikes: list[np.ndarray] = []
        self.sites: list[pa.Array] = []
        self.starts = [0]

    def append(self, f: ChunkFeatures) -> None:
        k = len(self.starts) - 1
        self._cols.write(np.ascontiguousarray(f.cols, np.int32).tobytes())
        self._vals.write(np.ascontiguousarray(f.vals, np.float32).tobytes())
        for name in ("times", "citizens", "likes", "dislikes"):
            getattr(self, name).append(getattr(f, name))
        self.sites.append(pa.array(f.sites, pa.string()))
        table = pa.table({"id": f.ids, "title": f.titles, "head": f.heads})
        pq.write_table(table, self.dir / f"texts-{k:06d}.parquet")
        self.starts.append(self.starts[-1] + len(f))

    def close(self) -> None:
        self._cols.close()
        self._vals.close()
        for name in ("times", "citizens", "likes", "dislikes"):
            parts = getattr(self, name)
            setattr(self, name, np.concatenate(parts) if parts else np.zeros(0, np.int64))
        self.site_names = pa.chunked_array(self.sites, pa.string()) if self.sites else pa.chunked_array([], pa.string())

    @property
    def n(self) -> int:
        return self.starts[-1]

    def vectors(self, rows: np.ndarray, n_cols: int) -> sp.csr_matrix:
        """The keyword vectors of ``rows``, read through a memory map that is closed again, so that the pages read
        stay in the OS page cache rather than in this process's resident memory."""
        rows = np.asarray(rows, np.int64)
        if not len(rows):
            return sp.csr_matrix((0, n_cols), dtype=np.float32)
        shape = (self.n, self.width)
        cols = np.memmap(self.dir / "cols.bin", np.int32, "r", shape=shape)
        vals = np.memmap(self.dir / "vals.bin", np.float32, "r", shape=shape)
        try:
            return to_csr(np.array(cols[rows]), np.array(vals[rows]), n_cols)
        finally:
            del cols, vals

    def signatures(self, rows: np.ndarray) -> dict[int, frozenset[str]]:
        names = self.site_names.take(pa.array(rows)).to_pylist()
        out = {}
        for r, s in zip(rows.tolist(), names, strict=True):
            if s:
                sig = site_signature(s.split("|"))
                if sig:
                    out[r] = sig
        return out

    def write_assignments(self, path: Path, labels: np.ndarray, ranks: dict[int, int]) -> None:
        """``id, group, rank`` of every row, chunk by chunk, to a Parquet file."""
        schema = pa.schema([("id", pa.string()), ("group", pa.int64()), ("rank", pa.int64())])
        path.parent.mkdir(parents=True, exist_ok=True)
        with pq.ParquetWriter(path, schema) as writer:
            for k in range(len(self.starts) - 1):
                ids = pq.read_table(self.dir / f"texts-{k:06d}.parquet", columns=["id"]).column("id")
                groups = labels[self.starts[k] : self.starts[k + 1]]
                rank = pa.array([ranks.get(int(g)) for g in groups], pa.int64())
                writer.write_table(pa.table({"id": ids, "group": pa.array(groups, pa.int64()), "rank": rank},
                                            schema=schema))

    def texts(self, rows: np.ndarray) -> pd.DataFrame:
        """``id, title, head`` of the given rows, in the given order."""
        rows = np.asarray(rows, np.int64)
        chunk = np.searchsorted(self.starts, rows, side="right") - 1
        parts = []
        for k in np.unique(chunk):
            table = pq.read_table(self.dir / f"texts-{k:06d}.parquet").to_pandas()
            sel = rows[chunk == k]
            part = table.iloc[sel - self.starts[k]].copy()
            part.index = sel
            parts.append(part)
        return pd.concat(parts).loc[rows] if parts else pd.DataFrame(columns=["id", "title", "head"])


# --------------------------------------------------------------------------- grouping


def _windows(order: np.ndarray, size: int, overlap: int) -> Iterator[np.ndarray]:
    step = max(1, size - overlap)
    start = 0
    while True:
        yield order[start : start + size]
        if start + size >= len(order):
            return
        start += step


def _link(store: _Store, params: HotspotParams, n_cols: int) -> tuple[np.ndarray, int]:
    """Group labels per row and the number of links refused for conflicting sites."""
    times = store.times
    if params.method != "linkage":
        if store.n > params.max_in_memory_rows:
            raise ValueError(
                f"method {params.method!r} needs the full similarity matrix: {store.n} rows is over "
                f"max_in_memory_rows={params.max_in_memory_rows}; use the linkage method"
            )
        rows = np.arange(store.n)
        vectors = store.vectors(rows, n_cols)
        sig_map = store.signatures(rows) if params.sites else {}
        sigs = [sig_map.get(r, frozenset()) for r in range(store.n)]
        if params.method == "average":
            return average_groups(vectors, params.threshold, sigs if params.sites else None), 0
        return hdbscan_groups(vectors, sigs if params.sites else None, min_cluster_size=params.hdbscan_min_cluster_size,
                              min_samples=params.hdbscan_min_samples), 0
    linker = SiteLinker(store.n)
    sortable = np.where(times == NO_TIME, np.iinfo(np.int64).max, times)
    order = np.argsort(sortable, kind="stable")
    gap = params.max_gap_days * _DAY if params.max_gap_days else None
    for rows in _windows(order, params.window_rows, params.window_overlap):
        rows = np.sort(rows)
        vectors = store.vectors(rows, n_cols)
        i, j, s = similar_pairs(vectors, params.threshold, times=times[rows], max_gap_s=gap)
        sigs = store.signatures(np.unique(np.concatenate([rows[i], rows[j]]))) if params.sites and len(i) else {}
        linker.add(rows[i], rows[j], s, sigs)
    return linker.labels(), linker.refused


def _describe(store: _Store, rank: int, row: pd.Series, members: np.ndarray, n_cols: int,
              all_texts: pd.DataFrame) -> Hotspot:
    order = np.argsort(np.where(store.times[members] == NO_TIME, np.iinfo(np.int64).max, store.times[members]),
                       kind="stable")
    members = members[order]
    texts = all_texts.loc[members]
    vectors = store.vectors(members, n_cols)
    rep = representative(vectors)
    title = clean_title(str(texts["title"].iloc[rep]))
    place, people = group_place(texts["title"].tolist(), texts["head"].tolist())
    start, end = _dt(row["start"]), _dt(row["end"])
    n, citizens, likes = int(row["n"]), int(row["citizens"]), int(row["likes"])
    return Hotspot(
        rank=rank,
        heat=float(row["heat"]),
        place=place,
        people=people,
        title=title,
        description=describe_group(title=title, place=place, people=people, n=n, citizens=citizens, likes=likes,
                                   start=start, end=end),
        start=start,
        end=end,
        n=n,
        citizens=citizens,
        likes=likes,
        dislikes=int(row["dislikes"]),
        span_days=float(row["span_days"]),
        support=float(row["support"]),
        recency=float(row["recency"]),
        burst=float(row["burst"]),
        growth=float(row["growth"]),
        ids=texts["id"].astype(str).tolist(),
        times=[_dt(t) for t in store.times[members]],
        member_titles=texts["title"].astype(str).tolist(),
    )


def find_hotspots(
    frames: Iterable[pd.DataFrame],
    params: HotspotParams | None = None,
    *,
    top: int = 10,
    since: datetime | None = None,
    until: datetime | None = None,
    engine: Engine = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    workdir: Path | None = None,
    assignments: Path | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> HotspotResult:
    """The ``top`` hot issues of the appeals in ``frames`` (canonical frames, e.g. from :class:`InputReader`).

    ``since``/``until`` keep appeals written in that range (appeals without a time are then left out);
    the reference time for recency and growth is ``until``, else the latest appeal. ``workdir`` keeps the
    spilled features (default: a temporary directory, removed at the end). ``assignments``: write every
    appeal's group there (Parquet: ``id``, ``group``, ``rank`` of its hot issue or null). ``on_chunk(rows)`` is called
    after each featurised chunk.
    """
    params = params or HotspotParams()
    seconds: dict[str, float] = {}
    outside = 0

    def in_range(chunks: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        nonlocal outside
        for frame in chunks:
            kept = _in_range(frame, since, until)
            outside += len(frame) - len(kept)
            if len(kept):
                yield kept

    with tempfile.TemporaryDirectory(prefix="minyi-hotspots-", dir=workdir) as tmp:
        t0 = time.perf_counter()
        store = _Store(Path(tmp), vector_width(params))
        chunks = _rechunk(frames, params.fit_rows, params.chunk_rows)
        first = next(chunks, None)
        encoder = None
        if first is not None:  # the encoder learns from the first rows, in the time range or not
            keep = _in_range(first.assign(_pos=np.arange(len(first))), since, until)["_pos"].to_numpy()
            outside += len(first) - len(keep)
            encoder, first_chunks = fit_on(first, params, keep)
            for features in first_chunks:
                store.append(features)
            if on_chunk:
                on_chunk(len(first))
            kept = in_range(chunks)
            rest = _map_ray(kept, encoder, params, workers, ray_address) if engine == "ray" else _map_local(
                kept, encoder, params)
            for features in rest:
                store.append(features)
                if on_chunk:
                    on_chunk(len(features))
        store.close()
        seconds["featurize"] = time.perf_counter() - t0
        n_cols = n_features(encoder) if encoder is not None else 0
        t1 = time.perf_counter()
        labels, refused = _link(store, params, n_cols) if store.n else (np.zeros(0, np.int64), 0)
        seconds["link"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        reference = int(pd.Timestamp(until).timestamp()) if until is not None else None
        table = group_table(labels, store.times, store.citizens, store.likes, store.dislikes, params, reference)
        sizes = table["n"].to_numpy()
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], table["group"].to_numpy()[:top]) if store.n else []
        rows = list(table.head(top).itertuples(index=False))
        members = [order[pos : pos + int(row.n)] for pos, row in zip(bounds, rows, strict=False)]
        texts = store.texts(np.unique(np.concatenate(members))) if members else None  # each chunk file read once
        hotspots = [_describe(store, rank, pd.Series(row._asdict()), m, n_cols, texts)
                    for rank, (row, m) in enumerate(zip(rows, members, strict=True), 1)]
        if assignments is not None:
            ranks = dict(zip(table["group"].head(top).tolist(), range(1, top + 1), strict=False))
            store.write_assignments(assignments, labels, ranks)
        seconds["describe"] = time.perf_counter() - t2
        known = store.times[store.times != NO_TIME]
        ref_time = _dt(reference) if reference is not None else (_dt(int(known.max())) if len(known) else None)
        return HotspotResult(
            hotspots=hotspots,
            rows=store.n,
            outside=outside,
            groups=int((sizes >= 2).sum()),
            grouped_rows=int(sizes[sizes >= 2].sum()),
            reference=ref_time,
            params=params,
            seconds=seconds,
            refused_links=refused,
            encoder=encoder.description if encoder is not None else "",
        )
