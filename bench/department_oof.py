"""Department routing out of fold on the department head's training rows: how each choice of the head was made.

The 281 held-out (``test``) rows are never read. The ``train`` + ``val`` rows (1,633) are encoded by a trained
bundle's encoder (fitted on training texts only), split into 5 stratified folds; each fold's head is fitted on
the other four with the variant's parameters and scored alone ("model") and blended with the duty list read
with the bundle's sub-category keys ("blend", weight fixed at ``--blend`` for comparison).

    python bench/department_oof.py [--bundle models/bundles/default] [--blend 0.7] [--json out.json]
    python bench/department_oof.py --variants shipped --shares 0.25 0.5 0.75 1 --draws 3 \
        --json reports/experiments/department-curve.json --plot reports/plots/department_curve.png
    python bench/department_oof.py --variants shipped --pseudo 0.9 0.7 0.5 \
        --json reports/experiments/department-self-training.json

``--shares`` fits each fold's head on that share of the fold's training rows (``--draws`` stratified draws, the
same draws for every variant), scored on the same held-out fold: how top-1/top-3 grow with labelled rows (a
learning curve; the figures are the mean over the draws, with their range). ``--pseudo`` is self-training: each
fold's head labels the unlabelled pool (every source's distinct appeals that are no department row nor a copy of
one), and is refitted with the appeals it gives P ≥ τ added as labelled rows.

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
    from minyi_nlp.dispatch.subcategory import duty_inputs
    from minyi_nlp.models.bundle import load_bundle
    from minyi_nlp.models.heads import KeywordRules
    from minyi_nlp.models.training import read_keyword_rules
    from minyi_nlp.params import load_params
    from minyi_nlp.routing import load_lists

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=Path("models/bundles/default"))
    ap.add_argument("--blend", type=float, default=0.7)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--variants", nargs="+", default=["before", "cv5", "shipped", "single"])
    ap.add_argument("--shares", nargs="+", type=float, default=[1.0],
                    help="shares of each fold's training rows to fit on (a learning curve)")
    ap.add_argument("--draws", type=int, default=1, help="draws of a share's rows (seeds 0, 1, …)")
    ap.add_argument("--plot", type=Path, help="PNG of the blend's top-1/top-3 against the training rows")
    ap.add_argument("--pseudo", nargs="+", type=float, default=[],
                    help="self-training: add the unlabelled pool's appeals whose fold head is this sure, as labels")
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
    for share in args.shares:
        for name in args.variants:
            sec, kw = variants[name]
            key = name if share == 1.0 else f"{name}@{share:g}"
            draws = [_score(share, seed, folds, strata, frame, prepared, X, y, duty, lists, sec, kw, bundle,
                            args.blend) for seed in range(args.draws if share < 1.0 else 1)]
            out[key] = {m: {k: round(float(np.mean([d[m][k] for d in draws])), 4) for k in ("top1", "top3")}
                        for m in ("model", "blend")}
            out[key]["range"] = {m: {k: [min(d[m][k] for d in draws), max(d[m][k] for d in draws)]
                                     for k in ("top1", "top3")} for m in ("model", "blend")}
            out[key]["share"], out[key]["draws"] = share, len(draws)
            out[key]["train_rows"] = int(round(np.mean([_subset(tr, strata, share, 0).size for tr, _ in folds])))
            _print(key, f"rows {out[key]['train_rows']:5d}", out[key])
    if args.pseudo:
        pool_X, pool_prepared = _unlabelled_pool(bundle, task.frame)
        for tau in args.pseudo:
            for name in args.variants:
                sec, kw = variants[name]
                key = f"{name}+pseudo@{tau:g}"
                out[key] = _score(1.0, 0, folds, strata, frame, prepared, X, y, duty, lists, sec, kw, bundle,
                                  args.blend, pseudo=(pool_X, pool_prepared, tau))
                _print(key, f"pseudo rows {out[key]['pseudo_rows']:5d}", out[key])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.plot and len(args.shares) > 1:
        _plot(out, args.variants[0], args.plot)


def _print(key: str, rows: str, entry: dict[str, Any]) -> None:
    m, b = entry["model"], entry["blend"]
    print(f"{key:12s} {rows}   model {m['top1']:.3f} / {m['top3']:.3f}   blend {b['top1']:.3f} / {b['top3']:.3f}",
          flush=True)


def _plot(out: dict[str, Any], variant: str, path: Path) -> None:
    """The blend's top-1 and top-3 of one variant against its training rows, with the issue's targets."""
    from minyi_nlp.models.plots import plot_growth

    points = sorted((v for k, v in out.items() if k.split("@")[0] == variant), key=lambda v: v["train_rows"])
    series = {f"top-{k[-1]}": [(p["blend"][k], *p["range"]["blend"][k]) for p in points] for k in ("top1", "top3")}
    plot_growth([p["train_rows"] for p in points], series, path, targets={"top-1": 0.70, "top-3": 0.88},
                xlabel="labelled training rows per fold (derived department labels)",
                ylabel=f"out of fold, {out['n']:,} rows, blend {out['blend']:g}",
                title="Department routing: how top-1/top-3 grow with labelled rows")


def _unlabelled_pool(bundle: Any, labelled: pd.DataFrame) -> tuple[Any, list[Any]]:
    """The distinct raw appeals of every source that are not department-task rows (any split) nor copies of one."""
    from minyi_nlp.data.urgency_labels import appeal_pool
    from minyi_nlp.data.validate import content_key

    pool = appeal_pool()
    keys = {content_key(t, t) for t in labelled["text"].astype(str)}
    ids = set(zip(labelled["source"].astype(str), labelled["appeal_id"].astype(str), strict=True))
    own = pool["key"].isin(keys) | pd.Series([(s, i) in ids for s, i in zip(pool["source"], pool["id"], strict=True)])
    texts = pool.loc[~own.to_numpy(), "text"].tolist()
    prepared = bundle.encoder.prepare(texts)
    print(f"unlabelled pool: {len(texts):,} of {len(pool):,} appeals", flush=True)
    return bundle.encoder.transform_prepared(prepared), prepared


def _subset(train: np.ndarray, strata: np.ndarray, share: float, seed: int) -> np.ndarray:
    """A stratified ``share`` of a fold's training rows (all of them at 1.0); the same draw on every call."""
    if share >= 1.0:
        return train
    from sklearn.model_selection import train_test_split

    kept, _ = train_test_split(train, train_size=share, stratify=strata[train], random_state=seed)
    return np.sort(kept)


def _score(share: float, seed: int, folds: list[tuple[np.ndarray, np.ndarray]], strata: np.ndarray, frame: pd.DataFrame,
           prepared: list[Any], X: Any, y: np.ndarray, duty: Any, lists: Any, sec: Any, kw: Any, bundle: Any,
           blend: float, pseudo: tuple[Any, list[Any], float] | None = None) -> dict[str, Any]:
    """Out-of-fold top-1/top-3 of one variant, its heads fitted on ``share`` of each fold's training rows (and,
    with ``pseudo`` = (X, prepared, tau), refitted with the pool appeals its first fit gives P ≥ tau, as labels)."""
    import scipy.sparse as sp

    from minyi_nlp.dispatch.evaluate import ranking_metrics, rankings
    from minyi_nlp.models.training import Encoded, fit_head

    scores: list[dict[str, float]] = [{} for _ in y]
    added = 0
    for full, te in folds:
        tr = _subset(full, strata, share, seed)
        rows = Encoded(frame.iloc[tr].reset_index(drop=True), [prepared[i] for i in tr], X[tr])
        head = fit_head(sec, rows, rules=kw, encoder=bundle.encoder)
        if pseudo is not None:
            pool_X, pool_prepared, tau = pseudo
            pool_p = head.predict_proba(pool_X, pool_prepared)
            sure = np.flatnonzero(pool_p.max(axis=1) >= tau)
            added += sure.size
            extra = pd.DataFrame({"label": [head.labels[j] for j in pool_p[sure].argmax(axis=1)],
                                  "group": [f"pseudo-{i}" for i in sure]})
            rows = Encoded(pd.concat([rows.frame, extra], ignore_index=True),
                           rows.prepared + [pool_prepared[i] for i in sure], sp.vstack([rows.X, pool_X[sure]]).tocsr())
            head = fit_head(sec, rows, rules=kw, encoder=bundle.encoder)
        proba = head.predict_proba(X[te], [prepared[i] for i in te])
        for i, row in zip(te, proba, strict=True):
            scores[i] = dict(zip(head.labels, row.tolist(), strict=True))
    ranked = rankings(duty, scores, lists, blend=blend)
    out: dict[str, Any] = {m: {k: round(ranking_metrics(ranked[m], list(y))[k], 4) for k in ("top1", "top3")}
                           for m in ("model", "blend")}
    if pseudo is not None:
        out["pseudo_rows"] = int(round(added / len(folds)))
    return out


if __name__ == "__main__":
    main()
