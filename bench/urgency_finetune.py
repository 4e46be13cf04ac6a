"""Does a fine-tuned encoder find the urgent tail? e5-small fine-tuned on the urgent flag's training rows.

The urgency head's training rows (weak rules plus hand-read rows, never the hand-labelled evaluation set) fine-tune
``TransformerClassifier`` (converted e5-small, mean pooling, head + tail cut, class-balanced loss, temperature
scaled on a 10 % stratified part); it then scores the 1,040 hand-labelled appeals. Compared there with the shipped
kind of flag (the head and the lexicon's second stage, refitted as ``minyi train`` fits it), alone and averaged
with it (standardised logits, equal weights: nothing is tuned on the labelled set). Needs ``minyi models import-e5
--out models/e5-small`` first; runs on the CPU (12 minutes measured on 2 cores at 128 tokens, 3 epochs).

    python bench/urgency_finetune.py [--bundle models/bundles/default] [--max-length 128] [--epochs 3]
        [--json reports/experiments/urgency-finetune.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _standard(z: np.ndarray) -> np.ndarray:
    return (z - z.mean()) / (z.std() or 1.0)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, default=None, help="bundle folder (default: the served one)")
    ap.add_argument("--checkpoint", type=Path, default=Path("models/e5-small"))
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch
    from urgency_setup import load_setup, refit_flag, report, scored

    from minyi_nlp.transformer import TransformerClassifier

    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    u = load_setup(args.bundle)
    p_head, stage_score = refit_flag(u)
    print(f"set-up and second stage: {time.perf_counter() - t0:.0f} s", flush=True)

    t1 = time.perf_counter()
    clf = TransformerClassifier(args.checkpoint, max_length=args.max_length, epochs=args.epochs,
                                class_weight="balanced", num_threads=args.threads)
    clf.fit(u.rows.frame["text"].astype(str).tolist(), u.rows.frame["label"].astype(str).tolist())
    fit_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    proba = clf.predict_proba(u.labels["text"].astype(str).tolist())
    p_ft = proba[:, list(clf.classes_).index("urgent")]
    per_text_ms = (time.perf_counter() - t2) / len(u.labels) * 1000
    print(f"fine-tuned in {fit_s / 60:.1f} min; {per_text_ms:.0f} ms per labelled text", flush=True)

    results = {
        "second stage: head + lexicon (refitted)": scored(u, stage_score),
        "urgency head alone (refitted)": scored(u, p_head),
        "fine-tuned e5-small alone": scored(u, p_ft),
        "mean of the stage's and the fine-tuned standardised logits": scored(
            u, _standard(_logit(stage_score)) + _standard(_logit(p_ft))),
    }
    out = {"bundle": u.bundle.version, "rows": len(u.y), "urgent_rows": int(u.y.sum()), "labelled": len(u.labels),
           "labelled_urgent": int(u.labels["urgent"].sum()), "max_length": args.max_length, "epochs": args.epochs,
           "fit_minutes": round(fit_s / 60, 1), "predict_ms_per_text": round(per_text_ms, 1),
           "seconds": round(time.perf_counter() - t0, 1), "results": results}
    report(results, out, args.json, width=60)
    return out


if __name__ == "__main__":
    main()
