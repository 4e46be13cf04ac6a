"""Experiment: does the linear category model still gain from more labelled appeals?

For each raw-text fold k, the params.yaml model is trained (as ``minyi cv`` trains it) on a stratified random
share of the appeals outside fold k (every copy of each chosen appeal), for each share in ``--shares``, and
scored on fold k. Writes ``reports/learning_curve.json`` and ``reports/plots/learning_curve.png``; logs each
share to MLflow (``minyi-category-cv``, ``learning-curve-<share>``).

    nice python bench/learning_curve.py [--shares 0.25 0.5 0.75 1.0] [--folds 0,1,2,3,4] [--no-track]
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np
import pandas as pd

from minyi_nlp.config import get_settings
from minyi_nlp.models.crossval import cv_report, fit_outside_fold, score_fold
from minyi_nlp.models.plots import plot_learning_curve
from minyi_nlp.params import load_params
from minyi_nlp.prepare import PreparedData

log = logging.getLogger("learning_curve")


def share_of_appeals(appeals: pd.DataFrame, fold: int, share: float, seed: int) -> set[int]:
    """Appeal numbers of a ``share`` of the appeals outside ``fold``, drawn per label (stratified)."""
    outside = appeals[appeals["fold"] != fold]
    if share >= 1.0:
        return set(outside["appeal"].tolist())
    picked = outside.groupby("label", group_keys=False).sample(frac=share, random_state=seed)
    return set(picked["appeal"].tolist())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shares", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-track", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    settings, params = get_settings(), load_params()
    prepared = PreparedData.read(settings.processed_dir)
    appeals, copies = prepared.appeals, prepared.copies
    curve = []
    for share in args.shares:
        folds, n_train = [], []
        for k in (int(f) for f in args.folds.split(",")):
            chosen = share_of_appeals(appeals, k, share, args.seed)
            keep_app = appeals[(appeals["fold"] == k) | appeals["appeal"].isin(chosen)]
            keep_cop = copies[(copies["fold"] == k) | copies["appeal"].isin(chosen)]
            clf, seconds = fit_outside_fold(keep_app, params, k, keep_cop)
            folds.append(score_fold(clf, appeals[appeals["fold"] == k], k, seconds, params.evaluate.n_bins))
            n_train.append(len(chosen))
            log.info("share %.2f, fold %d: %d appeals, macro-F1 %.4f", share, k, len(chosen), folds[-1]["macro_f1"])
        report = {"name": f"learning-curve-{share:g}",
                  **cv_report(folds, params, train_share=share, train_appeals_mean=float(np.mean(n_train)))}
        curve.append({"share": share, "train_appeals": float(np.mean(n_train)), **{
            f"{key}_{stat}": report["summary"][key][stat] for key in ("macro_f1", "ece") for stat in ("mean", "std")}})
        print(f"share {share:g} ({np.mean(n_train):.0f} appeals): macro-F1 {curve[-1]['macro_f1_mean']:.4f} "
              f"± {curve[-1]['macro_f1_std']:.4f}, ECE {curve[-1]['ece_mean']:.4f}")
        if not args.no_track:
            from minyi_nlp.models.tracking import log_cv_run

            log_cv_run(report["name"], report)
    reports = settings.reports_dir
    (reports / "learning_curve.json").write_text(json.dumps(curve, indent=2), encoding="utf-8")
    plot_learning_curve(curve, reports / "plots" / "learning_curve.png", goal=0.94)


if __name__ == "__main__":
    main()
