"""Fill the e5 embedding cache for the raw-text rows (folds 0..4) of ``appeals.parquet``; resumable.

    nice -n 10 python bench/transformer_embed_cache.py [--limit N] [--max-length 256]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from minyi_nlp.config import get_settings
from minyi_nlp.models.encoder import prepare_texts
from minyi_nlp.transformer.features import E5Embedder

CACHE = get_settings().data_dir / "interim" / "e5_cache"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--backend", default="torch")
    args = ap.parse_args()
    df = pd.read_parquet(get_settings().processed_dir / "appeals.parquet")
    raw = df[df.fold >= 0].sort_values(["fold", "id"])
    texts = prepare_texts(raw.text.tolist()[: args.limit])
    emb = E5Embedder(args.backend, max_length=args.max_length, num_threads=1, cache_dir=CACHE)
    t0 = time.perf_counter()
    for start in range(0, len(texts), 128):
        emb.embed(texts[start : start + 128])
        done = min(start + 128, len(texts))
        print(f"{done}/{len(texts)} {time.perf_counter() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
