"""Experiment: self-training the linear category model on unlabelled Teddy Cup messages.

For each raw-text fold k: the params.yaml model is trained outside fold k (as ``minyi cv`` does), labels
the unlabelled messages (附件2's official test set, 附件3 and 附件4: ``--sources``), and is trained again
with the messages it is at least ``--tau`` sure of added (each its own group). Both are scored on fold k.
Unlabelled messages that duplicate a labelled appeal (``minyi_nlp.dedup``, raw or segmented copy) are
left out first, so no evaluation text comes back as a pseudo-labelled training row.

Writes ``reports/experiments/self-training-tau<τ>.json`` (the ``minyi cv`` report shape, picked up by
``bench/compare_experiments.py``) and logs each τ to MLflow (``minyi-category-cv``).

    nice python bench/self_training.py [--folds 0,1,2,3,4] [--tau 0.9 0.7] [--no-track]
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np
import pandas as pd

from minyi_nlp.config import get_settings
from minyi_nlp.data import load_source
from minyi_nlp.data.tasks import compose_text
from minyi_nlp.dedup import duplicate_groups
from minyi_nlp.models.crossval import cv_report, fit_outside_fold, score_fold, summarize
from minyi_nlp.params import PrepareParams, load_params
from minyi_nlp.prepare import PreparedData

SOURCES = ("teddy_fj2_test_unlabelled", "teddy_fj3_hot_issues", "teddy_fj4_replies")
log = logging.getLogger("self_training")


def unlabelled_texts(sources: list[str], copies: pd.DataFrame, params: PrepareParams) -> list[str]:
    """Title + content of every message in ``sources``, without repeats or duplicates of a labelled copy."""
    texts: list[str] = []
    for name in sources:
        frame = load_source(name).frame
        texts += [compose_text(t, c) for t, c in zip(frame["title"], frame["content"], strict=True)]
    texts = list(dict.fromkeys(t for t in texts if len(t) > 5))
    groups = np.asarray(duplicate_groups(
        copies["text"].tolist() + texts, copies["pretokenized"].tolist() + [False] * len(texts),
        containment=params.containment, coverage=params.coverage, same_kind_cosine=params.same_kind_cosine,
    ))
    labelled = set(groups[: len(copies)].tolist())
    kept = [t for t, g in zip(texts, groups[len(copies):], strict=True) if g not in labelled]
    log.info("%d unlabelled messages, %d after dropping duplicates of labelled appeals", len(texts), len(kept))
    return kept


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--tau", type=float, nargs="+", default=[0.9, 0.7],
                    help="add pseudo-labelled messages whose top probability is at least this")
    ap.add_argument("--sources", nargs="+", default=list(SOURCES))
    ap.add_argument("--no-track", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    settings, params = get_settings(), load_params()
    prepared = PreparedData.read(settings.processed_dir)
    appeals, copies = prepared.appeals, prepared.copies
    unlabelled = unlabelled_texts(args.sources, copies, params.prepare)
    base: list[dict] = []
    selftrained: dict[float, list[dict]] = {tau: [] for tau in args.tau}
    for k in (int(f) for f in args.folds.split(",")):
        test = appeals[appeals["fold"] == k]
        clf, seconds = fit_outside_fold(appeals, params, k, copies)
        base.append(score_fold(clf, test, k, seconds, params.evaluate.n_bins))
        proba = clf.predict_proba(unlabelled)
        guess = clf.classes_[proba.argmax(axis=1)]
        log.info("fold %d: base macro-F1 %.4f", k, base[-1]["macro_f1"])
        for tau in args.tau:
            sure = proba.max(axis=1) >= tau
            extra = pd.DataFrame({"text": np.asarray(unlabelled, dtype=object)[sure], "label": guess[sure]})
            clf2, seconds2 = fit_outside_fold(appeals, params, k, copies, extra=extra)
            line = score_fold(clf2, test, k, seconds2, params.evaluate.n_bins)
            selftrained[tau].append({**line, "pseudo_labelled": int(sure.sum())})
            log.info("fold %d, tau %.2f: %d added, macro-F1 %.4f", k, tau, int(sure.sum()), line["macro_f1"])

    out_dir = settings.reports_dir / "experiments"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"base (params.yaml): macro-F1 {summarize(base)['macro_f1']['mean']:.4f}")
    for tau, folds in selftrained.items():
        name = f"self-training-tau{tau:g}"
        report = {"name": name, **cv_report(folds, params, self_training_tau=tau,
                                            self_training_sources=",".join(args.sources),
                                            unlabelled_messages=len(unlabelled)),
                  "base_folds": [{"fold": f["fold"], "macro_f1": f["macro_f1"], "ece": f["ece"]} for f in base]}
        (out_dir / f"{name}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        s = report["summary"]
        print(f"{name}: macro-F1 {s['macro_f1']['mean']:.4f} ± {s['macro_f1']['std']:.4f}, ECE {s['ece']['mean']:.4f}")
        if not args.no_track:
            from minyi_nlp.models.tracking import log_cv_run

            log_cv_run(name, report)


if __name__ == "__main__":
    main()
