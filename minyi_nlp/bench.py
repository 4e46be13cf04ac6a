"""``minyi bench``: single-appeal latency of the full suggestion (bundle loaded) and batch throughput."""

from __future__ import annotations

import statistics
import time

import pandas as pd

from minyi_nlp.config import get_settings
from minyi_nlp.prepare import EVAL_FILE


def _texts() -> list[str]:
    settings = get_settings()
    path = settings.processed_dir / EVAL_FILE
    if not path.exists():
        from minyi_nlp.params import load_params
        from minyi_nlp.prepare import run_prepare

        run_prepare(load_params().prepare)
    return pd.read_parquet(path)["text"].astype(str).tolist()


def _pct(sorted_values: list[float], q: float) -> float:
    return round(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))], 2)


def bench_predict(n: int = 500) -> dict:
    """p50/p95/p99 latency of one ``suggest`` call on real held-out texts, and batch appeals/s."""
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.dispatch.build import ensure_bundle

    dispatcher = Dispatcher.load(ensure_bundle())
    texts = _texts()
    for t in texts[:20]:
        dispatcher.suggest(None, t)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        dispatcher.suggest(None, texts[i % len(texts)])
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    t0 = time.perf_counter()
    dispatcher.suggest_many([(None, t) for t in texts], explain=False)
    batch_s = time.perf_counter() - t0
    return {
        "model_version": dispatcher.version,
        "texts": f"{len(texts)} held-out raw eval texts (mean {statistics.mean(len(t) for t in texts):.0f} chars)",
        "single_ms": {"p50": _pct(times, 0.50), "p95": _pct(times, 0.95), "p99": _pct(times, 0.99),
                      "mean": round(statistics.mean(times), 2)},
        "target_ms": 10,
        "p99_over_target": round(_pct(times, 0.99) / 10, 3),
        "batch_appeals_per_s": round(len(texts) / batch_s, 1),
    }
