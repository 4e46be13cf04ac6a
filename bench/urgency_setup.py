"""What the urgency benches share: the flag's training rows and the hand-labelled set, encoded and matched once.

Imported by ``bench/urgency_e5.py``, ``bench/urgency_curve.py`` and ``bench/urgency_finetune.py`` (run from the
project root, so ``bench/`` is on the path).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class UrgencySetup:
    """The urgency head's section and training rows, and the hand-labelled appeals with their features."""

    section: Any          # params.heads["urgency"]
    bundle: Any
    lexicon: Any
    rows: Any             # Encoded training rows of the urgency task (weak + hand-read)
    y: np.ndarray         # 1 for urgent training rows
    hits: list[Any]       # the lexicon's result for each training row
    labels: pd.DataFrame  # the hand-labelled set (never trained on)
    X: Any                # its encoded matrix
    prepared: list[Any]
    eval_hits: list[Any]
    sizes: dict[str, int]  # lexicon-stratum sizes of the pool, for pool-weighted figures
    targets: Any


def load_setup(bundle: Path | None) -> UrgencySetup:
    """Encode the urgency task's rows and the hand-labelled set with ``bundle`` (default: the served one)."""
    from minyi_nlp.data.tasks import load_task
    from minyi_nlp.data.urgency_labels import read_urgency_labels
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.models.training import encode
    from minyi_nlp.params import load_params
    from minyi_nlp.routing.hazards import load_hazards
    from minyi_nlp.routing.urgency_eval import Targets, read_design

    params = load_params()
    section = params.heads["urgency"]
    loaded = Dispatcher.load(bundle).bundle
    lexicon = load_hazards()
    rows = encode(loaded.encoder, load_task("urgency", params))
    labels = read_urgency_labels()
    X, prepared, _ = loaded.encode_pairs([(None, t) for t in labels["text"]])
    return UrgencySetup(
        section=section, bundle=loaded, lexicon=lexicon, rows=rows,
        y=(rows.frame["label"] == "urgent").to_numpy(int), hits=lexicon.match_many(rows.prepared),
        labels=labels, X=X, prepared=prepared, eval_hits=lexicon.match_many(prepared),
        sizes=read_design()["stratum_sizes"],
        targets=Targets(section.hazards.target_recall, section.hazards.target_precision))


def refit_flag(u: UrgencySetup, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Refit the head and its second stage as ``minyi train`` does (``fit_stacker``), on the training rows ``keep``
    (default: all; the head sees all of them, ``minyi train`` holds 15 % out); returns the head's P(urgent) and the
    stage's score on each hand-labelled appeal."""
    from minyi_nlp.dispatch.urgency_stack import fit_stacker
    from minyi_nlp.models.training import Encoded, fit_head

    rows = u.rows if keep is None else Encoded(u.rows.frame.iloc[keep].reset_index(drop=True),
                                               [u.rows.prepared[i] for i in keep], u.rows.X[keep])
    stacker, _ = fit_stacker(u.section, u.section.hazards.stack, rows, u.bundle.encoder, u.lexicon)
    head = fit_head(u.section, rows, None, u.bundle.encoder)
    p = head.predict_proba(u.X)[:, head.labels.index("urgent")]
    return p, stacker.score(p, u.eval_hits)


def scored(u: UrgencySetup, s: np.ndarray, labels: pd.DataFrame | None = None) -> dict[str, Any]:
    """``s`` scored as ``minyi train`` scores the flag, on the hand-labelled set (or its part ``labels``): average
    precision, precision at recall levels, and the threshold for the target recall chosen out of fold."""
    from minyi_nlp.routing.urgency_eval import evaluate_scorer

    r = evaluate_scorer(u.labels if labels is None else labels, s, sizes=u.sizes, targets=u.targets,
                        folds=u.section.hazards.folds)
    return {"average_precision": r["average_precision"], "precision_at_recall": r["precision_at_recall"],
            "out_of_fold": {k: r["out_of_fold"][k] for k in ("flagged", "recall", "precision")}}


def report(results: dict[str, dict[str, Any]], out: dict[str, Any], path: Path | None, width: int = 40,
           extra: Callable[[dict[str, Any]], str] | None = None) -> None:
    """Print a line per scorer (AP, precision at recall 0.8/0.9/0.95, the out-of-fold choice) and write ``out``."""
    for name, r in results.items():
        p, oof = r["precision_at_recall"], r["out_of_fold"]
        print(f"{name:{width}s} AP {r['average_precision']:.3f}  P@R .8/.9/.95 {p['0.8']:.3f}/{p['0.9']:.3f}/"
              f"{p['0.95']:.3f}  oof R/P {oof['recall']:.3f}/{oof['precision']:.3f}" + (extra(r) if extra else ""))
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
