"""Benchmark the hazard lexicon matcher on real appeal texts: µs per text against the 20 µs target.

Texts: the urgency pool (`minyi_nlp.data.urgency_labels.appeal_pool`: Teddy fj2 raw/附件3/附件4/test set, Shangluo,
Fuzhou), already preprocessed as in production (preprocessing is not timed). For each of ``--repeats`` runs it
times, in one process, (1) the Aho–Corasick pass alone and (2) the full ``HazardLexicon.match`` (patterns, cues,
context). It reports the best run and the median per text, the share of texts with a hit, and the ratio to the
target. Writes ``reports/hazard_matcher.json``.

    python bench/hazard_matcher.py [--limit N] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minyi_nlp.config import PROJECT_DIR  # noqa: E402
from minyi_nlp.data.urgency_labels import appeal_pool  # noqa: E402
from minyi_nlp.routing.hazards import load_hazards  # noqa: E402

TARGET_US = 20.0
DEFAULT_OUT = PROJECT_DIR / "reports" / "hazard_matcher.json"


def _per_text_us(fn, texts: list[str], repeats: int) -> list[float]:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        runs.append((time.perf_counter() - start) / len(texts) * 1e6)
    return runs


def _summary(runs: list[float]) -> dict[str, float]:
    return {"best": round(min(runs), 2), "median": round(sorted(runs)[len(runs) // 2], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N texts of the pool")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    texts = appeal_pool()["text"].tolist()[: args.limit]
    build_start = time.perf_counter()
    lexicon = load_hazards()
    build_ms = (time.perf_counter() - build_start) * 1e3
    automaton = lexicon._automaton

    def scan(text: str) -> object:
        return automaton.find_matches_as_indexes(text, overlapping=True)

    for text in texts[:200]:  # warm-up
        lexicon.match(text)
    scan_runs = _per_text_us(scan, texts, args.repeats)
    match_runs = _per_text_us(lexicon.match, texts, args.repeats)
    with_hit = sum(bool(lexicon.match(t).hits) for t in texts)
    best = min(match_runs)
    report = {
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "texts_with_a_hit": with_hit,
        "lexicon_version": lexicon.version,
        "lexicon_keys": lexicon.n_terms,
        "build_ms": round(build_ms, 1),
        "scan_us_per_text": _summary(scan_runs),
        "match_us_per_text": _summary(match_runs),
        "target_us": TARGET_US,
        "best_over_target": round(best / TARGET_US, 2),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_avg_1m": round(os.getloadavg()[0], 2), "ahocorasick_rs": version("ahocorasick-rs")},
    }
    print(f"{report['texts']} texts, mean {report['mean_chars']} chars, {with_hit} with a hit; lexicon "
          f"{lexicon.version} ({lexicon.n_terms} keys, built in {report['build_ms']} ms)")
    print(f"Aho–Corasick pass: best {report['scan_us_per_text']['best']} µs/text, "
          f"median {report['scan_us_per_text']['median']}")
    print(f"full match:        best {report['match_us_per_text']['best']} µs/text, "
          f"median {report['match_us_per_text']['median']}  (target {TARGET_US} µs: ×{report['best_over_target']})")
    print(f"load average (1 min) during the run: {report['machine']['load_avg_1m']} on {os.cpu_count()} CPUs")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
