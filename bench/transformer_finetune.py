"""Experiment: how long fine-tuning e5-small takes on this CPU, measured on a short run.

Fine-tunes ``TransformerClassifier`` (converted e5-small, mean pooling, head + tail cut) for a few
optimiser steps on raw appeals outside ``--fold`` (default 0), with ``--threads`` threads (default 1), and
projects the cost of one epoch over the full training set (all rows outside the fold). Runs the full fine-tune
and evaluates on that fold with ``--full`` (and only sensible where the projection fits the budget).

    nice -n 10 python bench/transformer_finetune.py [--examples 64] [--batch-size 16] [--max-length 256]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from minyi_nlp.config import get_settings
from minyi_nlp.models.metrics import classification_report
from minyi_nlp.prepare import PreparedData
from minyi_nlp.transformer import TransformerClassifier

OUT = get_settings().reports_dir / "transformer_finetune.json"


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--train-embeddings", action="store_true", help="also update the 96M-parameter word embeddings")
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--train-rows", choices=["all", "raw"], default="all",
                    help="--full trains on all appeals outside the fold, or only on their raw-text rows")
    ap.add_argument("--ensemble", action="store_true",
                    help="--full: also score weighted averages with the linear model (weights 0.1 … 0.9)")
    ap.add_argument("--save-proba", type=Path, default=None,
                    help="--full: keep the evaluated fold's fine-tuned probabilities here (.npz: ids, classes, proba)")
    ap.add_argument("--fold", type=int, default=0, help="--full: evaluate on this raw-text fold, train outside it")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    prepared = PreparedData.read(get_settings().processed_dir)
    df = prepared.appeals
    train, test = df[df.fold != args.fold], df[df.fold == args.fold]
    sample = train[train.fold >= 0].sample(args.examples, random_state=0)
    steps = max(1, args.examples // args.batch_size)
    clf = TransformerClassifier(max_length=args.max_length, batch_size=args.batch_size, max_steps=steps,
                                val_fraction=0.0, num_threads=args.threads,
                                freeze_embeddings=not args.train_embeddings)
    t0 = time.perf_counter()
    clf.fit(sample.text.tolist(), sample.label.tolist())
    wall = time.perf_counter() - t0
    train_s = clf.history_[-1]["seconds"]
    per_example = train_s / (steps * args.batch_size)
    res = {
        "threads": args.threads, "max_length": args.max_length, "batch_size": args.batch_size,
        "freeze_word_embeddings": not args.train_embeddings, "steps": steps,
        "examples_seen": steps * args.batch_size, "train_seconds": round(train_s, 1),
        "fit_wall_seconds_incl_load": round(wall, 1),
        "seconds_per_training_example": round(per_example, 3),
        "fold": args.fold, "training_rows_outside_fold": len(train),
        "projected_minutes_per_epoch": round(per_example * len(train) / 60, 1),
        "load_avg_1min_at_end": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory() as tmp:  # save_pretrained: the plain directory of the fine-tuned model
        t0 = time.perf_counter()
        clf.save_pretrained(Path(tmp) / "m")
        res["save_model_seconds"] = round(time.perf_counter() - t0, 1)
        res["model_dir_bytes"] = sum(p.stat().st_size for p in (Path(tmp) / "m").rglob("*") if p.is_file())
        t0 = time.perf_counter()
        type(clf).from_pretrained(Path(tmp) / "m")
        res["load_model_seconds"] = round(time.perf_counter() - t0, 1)
    if args.full:
        rows = train[train.fold >= 0] if args.train_rows == "raw" else train
        full = TransformerClassifier(max_length=args.max_length, batch_size=args.batch_size, epochs=args.epochs,
                                     num_threads=args.threads)
        t0 = time.perf_counter()
        full.fit(rows.text.tolist(), rows.label.tolist())
        res["full_fit_seconds"] = round(time.perf_counter() - t0, 1)
        res["full_train_rows"] = f"{len(rows)} ({args.train_rows})"
        t0 = time.perf_counter()
        proba = full.predict_proba(test.text.tolist())
        res["predict_ms_per_appeal"] = round(1000 * (time.perf_counter() - t0) / len(test), 1)
        keys = ("macro_f1", "ece", "accuracy", "top2_accuracy")
        rep = classification_report(test.label.tolist(), proba, list(full.classes_))
        res["scores"] = {k: rep[k] for k in keys}
        if args.save_proba:
            import numpy as np

            args.save_proba.parent.mkdir(parents=True, exist_ok=True)
            np.savez(args.save_proba, ids=test.id.to_numpy(), classes=np.asarray(full.classes_), proba=proba)
        if args.ensemble:  # weighted averages with the default linear model trained as `minyi cv` does
            linear = linear_outside(prepared, args.fold)
            assert list(linear.classes_) == list(full.classes_)
            lin = linear.predict_proba(test.text.tolist())
            res["ensemble_with_linear"] = {}
            for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):  # w = the fine-tuned model's weight
                rep = classification_report(test.label.tolist(), w * proba + (1 - w) * lin, list(full.classes_))
                res["ensemble_with_linear"][f"{w:.1f}"] = {k: rep[k] for k in keys}
        track(res, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(json.dumps(res, indent=1))


def linear_outside(prepared: PreparedData, fold: int):
    """The default linear model (params.yaml) trained outside ``fold``, as ``minyi cv`` trains it."""
    from minyi_nlp.models.crossval import fit_outside_fold
    from minyi_nlp.params import load_params

    return fit_outside_fold(prepared.appeals, load_params(), fold, prepared.copies)[0]


def track(res: dict, args: argparse.Namespace) -> None:
    """Log the one-fold fine-tune to MLflow in the shape ``minyi cv`` uses (one fold)."""
    from minyi_nlp.models.tracking import log_cv_run

    fold = {"fold": args.fold, **res["scores"], "train_seconds": res["full_fit_seconds"]}
    summary = {k: {"mean": float(v), "std": 0.0} for k, v in fold.items() if k != "fold"}
    params = {"model": "e5-small fine-tuned", "max_length": args.max_length, "epochs": args.epochs,
              "batch_size": args.batch_size, "threads": args.threads, "train_rows": res["full_train_rows"]}
    log_cv_run("e5-small-finetune", {"folds": [fold], "summary": summary, "params": params})
    for w, scores in res.get("ensemble_with_linear", {}).items():
        mixed = {"fold": args.fold, **scores}
        log_cv_run("e5-small-finetune+linear", {
            "folds": [mixed], "summary": {k: {"mean": float(v), "std": 0.0} for k, v in mixed.items() if k != "fold"},
            "params": {**params, "ensemble": f"{w} fine-tuned + {1 - float(w):.1f} linear (params.yaml)"}})


if __name__ == "__main__":
    main()
