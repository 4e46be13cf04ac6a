"""Prediction benchmarks: single-appeal latency with the model loaded, and batch throughput."""

from __future__ import annotations

import statistics
import time

import pandas as pd

from minyi_nlp.config import get_settings
from minyi_nlp.predict import CategoryPredictor
from minyi_nlp.prepare import EVAL_FILE
from minyi_nlp.train import ensure_category_model, load_split


def _texts() -> list[str]:
    settings = get_settings()
    path = settings.processed_dir / EVAL_FILE
    if not path.exists():
        from minyi_nlp.params import load_params

        load_split(settings.processed_dir, load_params())
    return pd.read_parquet(path)["text"].astype(str).tolist()


def _pct(sorted_values: list[float], q: float) -> float:
    return round(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))], 2)


def bench_predict(n: int = 500) -> dict:
    """p50/p95/p99 latency of one ``rank`` call on real eval texts, and batch appeals/s."""
    predictor = CategoryPredictor.load(ensure_category_model())
    texts = _texts()
    for t in texts[:20]:
        predictor.rank([t])
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        predictor.rank([texts[i % len(texts)]])
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    t0 = time.perf_counter()
    predictor.rank(texts)
    batch_s = time.perf_counter() - t0
    return {
        "model_version": predictor.version,
        "texts": f"held-out raw eval texts (mean {statistics.mean(len(t) for t in texts):.0f} chars)",
        "single_ms": {
            "p50": _pct(times, 0.50),
            "p95": _pct(times, 0.95),
            "p99": _pct(times, 0.99),
            "mean": round(statistics.mean(times), 2),
        },
        "target_ms": 20,
        "p50_over_target": round(_pct(times, 0.50) / 20, 3),
        "batch_appeals_per_s": round(len(texts) / batch_s, 1),
    }
