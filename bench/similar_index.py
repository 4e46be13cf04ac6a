"""Speed and memory of the similar-appeal index on synthetic vectors (one query thread).

    .venv/bin/python bench/similar_index.py                          # 100k appeals, all in one 30-day window
    .venv/bin/python bench/similar_index.py --n 1000000 --span-days 365
    .venv/bin/python bench/similar_index.py --n 100000 --n 1000000 --n 3000000 --span-days 365

Stores ``n`` random unit vectors (256 dimensions, like ``Encoder.embed``) with random sparse rows (64
features each, like the encoder's heaviest TF-IDF features) and landmarks (two 4-character names out of
10,000, with a 150-character context, like :func:`minyi_nlp.similar.landmarks.landmarks`), received
uniformly over ``--span-days``.
Then runs ``--queries`` look-ups at the end of the span with the default 30-day window and k = 5: half
are near copies of stored appeals (dense noise 0.1, same sparse row: must be found), half random (must
find nothing). Prints build time, resident memory added, the index's own byte count, p50/p99 query time
(wall clock, and CPU time of the process: on a shared machine the second is the one to compare),
the recall of the planted copies and the ratio of p99 to the 20 ms target. Random vectors are the hard
case for an HNSW graph (no cluster structure); real appeals are easier.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from datetime import datetime, timedelta

import numpy as np
import scipy.sparse as sp

from minyi_nlp.similar import SimilarIndex, SimilarSettings
from minyi_nlp.similar.landmarks import CONTEXT_CHARS, Landmarks

TARGET_P99_MS = 20.0
DIM = 256
SPARSE_COLUMNS = 1 << 20
SPARSE_NNZ = 64
T0 = datetime(2026, 1, 1)


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.standard_normal((n, DIM), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def sparse_rows(rng: np.random.Generator, n: int) -> sp.csr_matrix:
    cols = rng.integers(0, SPARSE_COLUMNS, size=(n, SPARSE_NNZ), dtype=np.int64)
    vals = rng.random((n, SPARSE_NNZ), dtype=np.float32)
    return sp.csr_matrix((vals.ravel(), cols.ravel(), np.arange(0, n * SPARSE_NNZ + 1, SPARSE_NNZ)),
                         shape=(n, SPARSE_COLUMNS))


def synthetic_landmarks(rng: np.random.Generator, n: int) -> list[Landmarks]:
    """Two names of 4 CJK characters (out of 10,000) each, written into a 150-character context."""
    pool = np.random.default_rng(1).integers(0x4E00, 0x4E00 + 3000, size=(10_000, 4))
    names = ["".join(map(chr, row)) for row in pool]
    filler = rng.integers(0x4E00, 0x4E00 + 3000, size=(n, CONTEXT_CHARS - 8))
    out = []
    for i, (a, b) in enumerate(rng.integers(0, len(names), size=(n, 2))):
        out.append(Landmarks({names[a], names[b]}, names[a] + names[b] + "".join(map(chr, filler[i]))))
    return out


def run(n: int, span_days: float, queries: int, batch: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    settings = SimilarSettings()
    gc.collect()
    rss0 = rss_bytes()
    idx = SimilarIndex(DIM, settings)
    offsets = np.sort(rng.random(n) * span_days * 86_400.0)
    keep_dense = np.zeros((0, DIM), dtype=np.float32)
    keep_rows: list[int] = []
    t, c = time.perf_counter(), time.process_time()
    for start in range(0, n, batch):
        stop = min(n, start + batch)
        dense = unit_rows(rng, stop - start)
        sparse = sparse_rows(rng, stop - start)
        times = [T0 + timedelta(seconds=float(s)) for s in offsets[start:stop]]
        marks = synthetic_landmarks(rng, stop - start)
        idx.add(list(range(start, stop)), dense, times, [None] * (stop - start), [None] * (stop - start),
                sparse=sparse, landmarks=marks)
        # remember a few appeals of the last 30 days to plant their copies as queries
        recent = np.flatnonzero(offsets[start:stop] >= (span_days - 29) * 86_400.0)[:queries]
        if len(recent) and len(keep_rows) < queries:
            keep_dense = np.vstack([keep_dense, dense[recent]])
            keep_rows += [(start + int(i), sparse[int(i)], marks[int(i)]) for i in recent]
    build_s, build_cpu_s = time.perf_counter() - t, time.process_time() - c
    gc.collect()
    rss = rss_bytes() - rss0
    at = T0 + timedelta(days=span_days)
    planted = min(queries // 2, len(keep_rows))
    lat, cpu, found, false_hits = [], [], 0, 0
    for q in range(planted):
        v = keep_dense[q] + 0.1 * rng.standard_normal(DIM, dtype=np.float32) / np.sqrt(DIM)
        v /= np.linalg.norm(v)
        t, c = time.perf_counter(), time.process_time()
        hits = idx.query(v, at=at, sparse=keep_rows[q][1], landmarks=keep_rows[q][2])
        lat.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        found += any(m.id == keep_rows[q][0] for m in hits)
    for _ in range(queries - planted):
        v = unit_rows(rng, 1)[0]
        s, marks = sparse_rows(rng, 1), synthetic_landmarks(rng, 1)[0]
        t, c = time.perf_counter(), time.process_time()
        false_hits += len(idx.query(v, at=at, sparse=s, landmarks=marks))
        lat.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    ms, cpu_ms = np.array(lat) * 1000, np.array(cpu) * 1000
    in_window = int((offsets >= (span_days - settings.window_days) * 86_400.0).sum())
    stats = idx.stats()
    return {
        "n": n, "span_days": span_days, "in_30_day_window": in_window, "shards": stats["shards"],
        "build_s": round(build_s, 1), "build_cpu_s": round(build_cpu_s, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "rss_added_mb": round(rss / 2**20), "index_bytes_per_appeal": round(stats["memory_bytes"] / n),
        "query_p50_ms": round(float(np.percentile(ms, 50)), 2), "query_p99_ms": round(float(np.percentile(ms, 99)), 2),
        "query_cpu_p50_ms": round(float(np.percentile(cpu_ms, 50)), 2),
        "query_cpu_p99_ms": round(float(np.percentile(cpu_ms, 99)), 2),
        "p99_over_target": round(float(np.percentile(ms, 99)) / TARGET_P99_MS, 3),
        "cpu_p99_over_target": round(float(np.percentile(cpu_ms, 99)) / TARGET_P99_MS, 3),
        "planted_recall": round(found / max(1, planted), 4), "planted": planted,
        "false_hits_random": false_hits, "random_queries": queries - planted,
        "settings": {"dtype": settings.dtype, "connectivity": settings.connectivity,
                     "expansion_search": settings.expansion_search, "candidates": settings.candidates,
                     "shard_days": settings.shard_days, "exact_below": settings.exact_below},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, action="append", help="appeals stored (repeatable); default 100000")
    parser.add_argument("--span-days", type=float, default=30.0, help="received_at spread over this many days")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for n in args.n or [100_000]:
        print(json.dumps(run(n, args.span_days, args.queries, args.batch, args.seed)), flush=True)


if __name__ == "__main__":
    main()
