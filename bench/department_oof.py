"""Department routing out of fold on the department head's training rows: how each choice of the head was made.

The 281 held-out (``test``) rows are never read. The ``train`` + ``val`` rows (1,633) are encoded by a trained
bundle's encoder (fitted on training texts only), split into 5 stratified folds; each fold's head is fitted on
the other four with the variant's parameters and scored alone ("model") and blended with the duty list read
with the bundle's sub-category keys ("blend", weight fixed at ``--blend`` for comparison).

    python bench/department_oof.py [--bundle models/bundles/default] [--blend 0.7] [--json out.json]

Variants: ``before`` (3 calibration folds, no keyword rules), ``cv5`` (5 folds), ``shipped`` (params.yaml),
``single`` (params.yaml with ``ensemble: false``: one model on all rows, calibrated on the folds).
The duty inputs of the training rows are read through a sub-category head
that saw their weak labels, so the blend column flatters the duty list a little; the comparison between
variants is what this is for.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def main() -> None:
    from sklearn.model_selection import StratifiedKFold

    from minyi_nlp.data.tasks import load_task
    from minyi_nlp.dispatch.build import keyword_sources
    from minyi_nlp.dispatch.evaluate import ranking_metrics, rankings
    from minyi_nlp.dispatch.subcategory import duty_inputs
    from minyi_nlp.models.bundle import load_bundle
    from minyi_nlp.models.heads import KeywordRules
    from minyi_nlp.models.training import Encoded, fit_head, read_keyword_rules
    from minyi_nlp.params import load_params
    from minyi_nlp.routing import load_lists

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/default"))
    ap.add_argument("--blend", type=float, default=0.7)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    params, lists = load_params(), load_lists()
    section = params.heads["department"]
    bundle = load_bundle(args.bundle, mmap=False)
    task = load_task("department", params)
    frame = task.frame[task.frame["split"].isin(("train", "val"))].reset_index(drop=True)
    prepared = bundle.encoder.prepare(frame["text"].astype(str).tolist())
    X = bundle.encoder.transform_prepared(prepared)
    category = bundle.head("category")
    duty = duty_inputs(bundle, X, category.predict_proba(X), category.labels, params.routing.subcategory_threshold)
    y = frame["label"].astype(str).to_numpy()
    counts = pd.Series(y).value_counts()
    strata = np.where(pd.Series(y).map(counts) >= args.folds, y, "rare")
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(y, strata))
    rules = read_keyword_rules(section.keywords.file, keyword_sources()) if section.keywords else []
    weight = section.keywords.weight if section.keywords else 0.0
    variants: dict[str, tuple[Any, KeywordRules | None]] = {
        "before": (section.model_copy(update={"keywords": None,
                                              "model": section.model.model_copy(update={"calibration_cv": 3})}), None),
        "cv5": (section.model_copy(update={"keywords": None,
                                           "model": section.model.model_copy(update={"calibration_cv": 5})}), None),
        "shipped": (section, KeywordRules(weight=weight, rules=rules) if rules else None),
        "single": (section.model_copy(update={"model": section.model.model_copy(update={"ensemble": False})}),
                   KeywordRules(weight=weight, rules=rules) if rules else None),
    }
    out: dict[str, Any] = {"n": len(y), "folds": args.folds, "blend": args.blend, "bundle": str(args.bundle)}
    for name, (sec, kw) in variants.items():
        scores: list[dict[str, float]] = [{} for _ in y]
        for tr, te in folds:
            rows = Encoded(frame.iloc[tr].reset_index(drop=True), [prepared[i] for i in tr], X[tr])
            head = fit_head(sec, rows, rules=kw, encoder=bundle.encoder)
            proba = head.predict_proba(X[te], [prepared[i] for i in te])
            for i, row in zip(te, proba, strict=True):
                scores[i] = dict(zip(head.labels, row.tolist(), strict=True))
        ranked = rankings(duty, scores, lists, blend=args.blend)
        out[name] = {m: {k: round(ranking_metrics(ranked[m], list(y))[k], 4) for k in ("top1", "top3")}
                     for m in ("model", "blend")}
        print(f"{name:8s} model {out[name]['model']['top1']:.3f} / {out[name]['model']['top3']:.3f}   "
              f"blend {out[name]['blend']['top1']:.3f} / {out[name]['blend']['top3']:.3f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
