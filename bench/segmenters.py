"""Benchmark the jieba and rjieba backends on real appeal texts: agreement and speed.

Texts: fj2_raw_labeled.csv ``text`` and fj4 ``留言主题`` + ``留言详情`` (Teddy Cup 2020 C), run
through ``preprocess`` first, as in production. For each user-dictionary setting it measures

* agreement of the raw segmentations (all tokens, jieba as reference): token-level precision,
  recall and F1 over character spans (micro-averaged), and the share of texts cut identically;
* speed of the raw cut and of the full ``Segmenter`` call: texts/s and chars/s, best of 3 runs,
  one process, after a warm-up; plus the one-off build time of each tokenizer.

Prints a table and writes ``reports/segmenters.json``.

    python bench/segmenters.py [--data-dir ../shared/data/teddy2020_c] [--repeats 3] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from minyi_nlp.config import PROJECT_DIR  # noqa: E402
from minyi_nlp.text import Segmenter, preprocess  # noqa: E402
from minyi_nlp.text.segment import BACKENDS, cut_function  # noqa: E402

DEFAULT_DATA_DIR = PROJECT_DIR.parent / "shared" / "data" / "teddy2020_c"
DEFAULT_OUT = PROJECT_DIR / "reports" / "segmenters.json"
F1_THRESHOLD = 0.99  # rjieba may become the default only if it agrees this well with jieba


def load_texts(data_dir: Path) -> dict[str, list[str]]:
    """Raw texts per source: fj2 raw ``text`` and fj4 title + detail."""
    fj2 = pd.read_csv(data_dir / "fj2_raw_labeled.csv")["text"].fillna("").astype(str).tolist()
    fj4 = pd.read_excel(data_dir / "fj4_messages_with_replies.xlsx").fillna("")
    fj4_texts = (fj4["留言主题"].astype(str) + " " + fj4["留言详情"].astype(str)).tolist()
    return {"fj2_raw_labeled.text": fj2, "fj4.留言主题+留言详情": fj4_texts}


def spans(tokens: Sequence[str]) -> set[tuple[int, int]]:
    """Character spans of a segmentation."""
    out, pos = set(), 0
    for tok in tokens:
        out.add((pos, pos + len(tok)))
        pos += len(tok)
    return out


def agreement(ref: list[list[str]], other: list[list[str]]) -> dict[str, float]:
    """Micro precision/recall/F1 of ``other`` against ``ref`` by spans, and the identical share."""
    tp = n_ref = n_other = identical = 0
    for a, b in zip(ref, other, strict=True):
        sa, sb = spans(a), spans(b)
        tp += len(sa & sb)
        n_ref += len(sa)
        n_other += len(sb)
        identical += a == b
    precision, recall = tp / max(n_other, 1), tp / max(n_ref, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": precision, "recall": recall, "f1": f1, "identical_share": identical / len(ref)}


def best_time(fn: Callable[[str], Any], texts: list[str], repeats: int) -> float:
    """Best wall time of ``repeats`` passes over ``texts`` (after one warm-up pass on a slice)."""
    for text in texts[:200]:
        fn(text)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def bench_setting(texts: list[str], user_dict: bool, repeats: int) -> dict[str, Any]:
    """Build times, segmentations, agreement and speeds for one user-dictionary setting."""
    n_chars = sum(map(len, texts))
    result: dict[str, Any] = {"user_dict": user_dict, "backends": {}}
    cuts: dict[str, list[list[str]]] = {}
    for backend in BACKENDS:
        start = time.perf_counter()
        cut = cut_function(backend, user_dict)
        build_s = time.perf_counter() - start
        cuts[backend] = [cut(t) for t in texts]
        lossless = all("".join(toks) == t for toks, t in zip(cuts[backend], texts, strict=True))
        cut_s = best_time(cut, texts, repeats)
        seg_s = best_time(Segmenter(backend=backend, user_dict=user_dict), texts, repeats)
        result["backends"][backend] = {
            "build_s": round(build_s, 3),
            "lossless": lossless,
            "tokens": sum(map(len, cuts[backend])),
            "cut_texts_per_s": round(len(texts) / cut_s, 1),
            "cut_chars_per_s": round(n_chars / cut_s),
            "segmenter_texts_per_s": round(len(texts) / seg_s, 1),
            "segmenter_chars_per_s": round(n_chars / seg_s),
        }
    rj, jb = result["backends"]["rjieba"], result["backends"]["jieba"]
    result["speed_ratio_rjieba_over_jieba"] = round(rj["cut_chars_per_s"] / jb["cut_chars_per_s"], 2)
    result["segmenter_speed_ratio_rjieba_over_jieba"] = round(
        rj["segmenter_chars_per_s"] / jb["segmenter_chars_per_s"], 2
    )
    agree = agreement(cuts["jieba"], cuts["rjieba"])
    result["agreement_rjieba_vs_jieba"] = {k: round(v, 5) for k, v in agree.items()}
    return result


def decide(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply the rule: jieba stays default unless rjieba agrees (F1 >= 0.99 with the user dict)."""
    with_dict = next(r for r in results if r["user_dict"])
    f1 = with_dict["agreement_rjieba_vs_jieba"]["f1"]
    faster = "rjieba" if with_dict["speed_ratio_rjieba_over_jieba"] > 1 else "jieba"
    default = "rjieba" if faster == "rjieba" and f1 >= F1_THRESHOLD else "jieba"
    return {
        "faster": faster,
        "f1_with_user_dict": f1,
        "f1_threshold": F1_THRESHOLD,
        "recommended_default": default,
        "how_to_select": "MINYI_SEGMENTER=rjieba (or jieba)",
    }


def print_table(results: list[dict[str, Any]], n_texts: int, n_chars: int) -> None:
    print(f"\n{n_texts} texts, {n_chars} chars (preprocessed)\n")
    header = f"{'user_dict':>9} {'backend':>7} {'build s':>8} {'cut texts/s':>12} {'cut chars/s':>12} "
    header += f"{'seg texts/s':>12} {'seg chars/s':>12}"
    print(header)
    for r in results:
        for backend, b in r["backends"].items():
            print(
                f"{r['user_dict']!s:>9} {backend:>7} {b['build_s']:>8.2f} "
                f"{b['cut_texts_per_s']:>12,.0f} {b['cut_chars_per_s']:>12,} "
                f"{b['segmenter_texts_per_s']:>12,.0f} {b['segmenter_chars_per_s']:>12,}"
            )
        a = r["agreement_rjieba_vs_jieba"]
        print(
            f"{'':>9} rjieba/jieba speed x{r['speed_ratio_rjieba_over_jieba']} (cut), "
            f"x{r['segmenter_speed_ratio_rjieba_over_jieba']} (Segmenter); token F1 {a['f1']:.4f} "
            f"(P {a['precision']:.4f}, R {a['recall']:.4f}), identical texts {a['identical_share']:.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N texts (smoke runs)")
    args = parser.parse_args()

    sources = load_texts(args.data_dir)
    texts = [preprocess(t) for rows in sources.values() for t in rows]
    texts = [t for t in texts if t][: args.limit]
    n_chars = sum(map(len, texts))

    results = [bench_setting(texts, user_dict, args.repeats) for user_dict in (False, True)]
    decision = decide(results)
    print_table(results, len(texts), n_chars)
    print(f"\ndecision: {decision}")

    report = {
        "data": {
            "dir": str(args.data_dir),
            "sources": {name: len(rows) for name, rows in sources.items()},
            "texts": len(texts),
            "chars": n_chars,
            "preprocessed": True,
        },
        "method": {
            "agreement": "raw cut (all tokens), HMM on, jieba as reference; micro P/R/F1 over char spans",
            "speed": f"best of {args.repeats} passes, single process, after warm-up",
        },
        "env": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "jieba": version("jieba"),
            "rjieba": version("rjieba"),
        },
        "results": results,
        "decision": decision,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
