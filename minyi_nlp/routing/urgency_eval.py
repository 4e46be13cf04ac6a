"""Evaluate urgency flags on the hand-labelled set: the hazard lexicon alone and any scorer.

A scorer is a callable ``texts → P(urgent)``. Its threshold is the highest one that keeps recall at or above
the target (0.95 by default). The report gives recall and precision there and whether precision reaches its
target (0.7), plus:

* ``out_of_fold``: the threshold chosen on 4/5 of the labels and applied to the other fifth, pooled over 5 folds
  (fewer folds when there are fewer than 5 urgent appeals; none below 2).
  The in-sample threshold is chosen on the very labels it is scored on, so this figure is the honest one;
* ``pool_weighted``: recall and precision weighted back to the whole pool of appeals by lexicon stratum
  (the labels over-sample lexicon hits; ``design.json`` has the stratum sizes);
* recall per stratum: how much of what the lexicon misses the scorer finds;
* precision at lower recall levels (0.5, 0.8, 0.9), to show how far a scorer is from the target;
* ``test_half``: the same on the appeals whose ``md5(id)`` is odd. Lexicon 2026.12.2 was tuned on the other
  (``dev``) half only, so for it the test half is the fair figure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_recall_curve
from sklearn.model_selection import StratifiedKFold

from minyi_nlp.data.urgency_labels import STRATA, labels_path
from minyi_nlp.routing.hazards import HazardLexicon

__all__ = [
    "RECALL_LEVELS",
    "Scorer",
    "Targets",
    "binary_report",
    "evaluate_lexicon",
    "evaluate_scorer",
    "read_design",
    "in_test_half",
    "urgency_report",
    "threshold_at_recall",
    "write_report",
]

Scorer = Callable[[Sequence[str]], Sequence[float]]
RECALL_LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class Targets:
    """Recall to keep and precision to reach (issue 12: recall ≥ 0.95 at precision ≥ 0.7)."""

    recall: float = 0.95
    precision: float = 0.7


def in_test_half(ids: Sequence[str]) -> np.ndarray:
    """True for the appeals of the ``test`` half (``md5(id)`` odd), never used to tune a lexicon."""
    return np.array([int(hashlib.md5(str(i).encode()).hexdigest(), 16) % 2 == 1 for i in ids])


def read_design(path: Path | None = None) -> dict[str, Any]:
    """``design.json`` next to the labels (stratum sizes, seeds, lexicon version)."""
    path = path or labels_path().with_name("design.json")
    return json.loads(path.read_text(encoding="utf-8"))


def threshold_at_recall(y: Sequence[int], scores: Sequence[float], target: float) -> float:
    """The highest score threshold whose flags (score ≥ threshold) keep recall ≥ ``target``."""
    y_arr, s = np.asarray(y, int), np.asarray(scores, float)
    positives = np.sort(s[y_arr == 1])[::-1]
    if len(positives) == 0:
        raise ValueError("no urgent appeal among the labels: recall is undefined")
    need = int(np.ceil(target * len(positives) - 1e-9))
    return float(positives[max(need, 1) - 1])


def _weights(strata: Sequence[str], sizes: Mapping[str, int]) -> np.ndarray:
    strata_arr = np.asarray(strata)
    w = np.zeros(len(strata_arr))
    for stratum in STRATA:
        mask = strata_arr == stratum
        if mask.any():
            w[mask] = sizes[stratum] / mask.sum()
    return w


def binary_report(y: Sequence[int], flags: Sequence[bool], strata: Sequence[str] | None = None,
                  sizes: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Counts, recall and precision of binary flags; pool-weighted figures when strata and sizes are given."""
    y_arr, f = np.asarray(y, int), np.asarray(flags, bool)
    tp, fp, fn = int((f & (y_arr == 1)).sum()), int((f & (y_arr == 0)).sum()), int((~f & (y_arr == 1)).sum())
    out: dict[str, Any] = {
        "n": len(y_arr), "urgent": int(y_arr.sum()), "flagged": int(f.sum()), "tp": tp, "fp": fp, "fn": fn,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
    }
    if strata is not None and sizes is not None:
        w = _weights(strata, sizes)
        wtp, wpos, wflag = (w * (f & (y_arr == 1))).sum(), (w * (y_arr == 1)).sum(), (w * f).sum()
        out["pool_weighted"] = {
            "recall": round(float(wtp / wpos), 4) if wpos else None,
            "precision": round(float(wtp / wflag), 4) if wflag else None,
            "urgent_share": round(float(wpos / w.sum()), 4),
        }
        strata_arr = np.asarray(strata)
        out["recall_by_stratum"] = {
            s: {"urgent": int(((strata_arr == s) & (y_arr == 1)).sum()),
                "found": int(((strata_arr == s) & (y_arr == 1) & f).sum())}
            for s in STRATA
        }
    return out


def _out_of_fold(y: np.ndarray, s: np.ndarray, target: float, folds: int, seed: int) -> np.ndarray | None:
    folds = min(folds, int(y.sum()), int((1 - y).sum()))
    if folds < 2:
        return None
    flags = np.zeros(len(y), bool)
    for fit_idx, test_idx in StratifiedKFold(folds, shuffle=True, random_state=seed).split(s, y):
        flags[test_idx] = s[test_idx] >= threshold_at_recall(y[fit_idx], s[fit_idx], target)
    return flags


def evaluate_scorer(labels: pd.DataFrame, scores: Sequence[float], *, sizes: Mapping[str, int],
                    targets: Targets = Targets(), folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Recall/precision of ``scores`` on ``labels`` at the threshold for ``targets.recall`` (see module doc)."""
    y, s = labels["urgent"].to_numpy(int), np.asarray(scores, float)
    if len(s) != len(y):
        raise ValueError(f"{len(s)} scores for {len(y)} labelled appeals")
    threshold = threshold_at_recall(y, s, targets.recall)
    at = binary_report(y, s >= threshold, labels["stratum"], sizes)
    oof_flags = _out_of_fold(y, s, targets.recall, folds, seed)
    oof = None if oof_flags is None else binary_report(y, oof_flags, labels["stratum"], sizes)
    precision = at["precision"] or 0.0
    curve_p, curve_r, _ = precision_recall_curve(y, s)
    return {
        "threshold": round(threshold, 6),
        "at_threshold": at,
        "meets_target": bool(at["recall"] >= targets.recall and precision >= targets.precision),
        "out_of_fold": oof,
        "average_precision": round(float(average_precision_score(y, s)), 4),
        "precision_at_recall": {str(r): round(float(curve_p[curve_r >= r].max()), 4) for r in RECALL_LEVELS},
        "targets": {"recall": targets.recall, "precision": targets.precision},
    }


def evaluate_lexicon(labels: pd.DataFrame, lexicon: HazardLexicon, *, sizes: Mapping[str, int],
                     targets: Targets = Targets()) -> dict[str, Any]:
    """The lexicon's own verdict (a hit ≥ ``flag_at``), and its best-hit confidence used as a scorer."""
    results = lexicon.match_many(labels["text"])
    flags = [r.urgent for r in results]
    report = binary_report(labels["urgent"], flags, labels["stratum"], sizes)
    report["lexicon_version"] = lexicon.version
    report["flag_at"] = lexicon.flag_at
    report["as_scorer"] = evaluate_scorer(labels, [r.score for r in results], sizes=sizes, targets=targets)
    return report


def urgency_report(labels: pd.DataFrame, lexicons: Mapping[str, HazardLexicon], scorers: Mapping[str, Scorer], *,
                   sizes: Mapping[str, int], targets: Targets = Targets(), notes: Sequence[str] = ()) -> dict[str, Any]:
    """Every lexicon (own flag and as a scorer) and every scorer, on all labels and on the test half."""
    half = in_test_half(labels["id"])
    test = labels[half].reset_index(drop=True)
    results: dict[str, Any] = {}
    for name, lexicon in lexicons.items():
        entry = evaluate_lexicon(labels, lexicon, sizes=sizes, targets=targets)
        entry["test_half"] = evaluate_lexicon(test, lexicon, sizes=sizes, targets=targets)
        results[f"lexicon {lexicon.version}" if name == "" else name] = entry
    for name, scorer in scorers.items():
        scores = np.asarray(scorer(labels["text"].tolist()), float)
        entry = evaluate_scorer(labels, scores, sizes=sizes, targets=targets)
        entry["test_half"] = evaluate_scorer(test, scores[half], sizes=sizes, targets=targets)
        results[name] = entry
    return {
        "labels": str(labels_path().relative_to(labels_path().parents[3])),
        "n": len(labels),
        "urgent": int(labels["urgent"].sum()),
        "test_half": {"n": len(test), "urgent": int(test["urgent"].sum())},
        "targets": {"recall": targets.recall, "precision": targets.precision},
        "results": results,
        "notes": list(notes),
    }


def _md_row(name: str, r: Mapping[str, Any]) -> str:
    pw = r.get("pool_weighted", {})
    return (f"| {name} | {r['n']} | {r['urgent']} | {r['flagged']} | {r['recall']} | {r['precision']} | "
            f"{pw.get('recall')} | {pw.get('precision')} |")


def write_report(report: Mapping[str, Any], json_path: Path, md_path: Path) -> None:
    """``report`` as JSON and as a short Markdown table."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Urgency: recall and precision on the hand-labelled set",
        "",
        f"Labels: `{report['labels']}` ({report['n']} appeals, {report['urgent']} urgent). Target: recall ≥ "
        f"{report['targets']['recall']} at precision ≥ {report['targets']['precision']}. Pool-weighted figures "
        "weight each labelled appeal back to the 14,071-appeal pool by lexicon stratum.",
        "",
        "| flags | n | urgent | flagged | recall | precision | pool recall | pool precision |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for part, title in ((None, "all labels"), ("test_half", "test half")):
        lines += ["", f"**{title}**", "", *lines[4:6]] if part else []
        for name, entry in report["results"].items():
            entry = entry[part] if part else entry
            if "tp" in entry:
                lines.append(_md_row(f"{name} (its own flag)", entry))
            scored = entry.get("as_scorer", entry)
            lines.append(_md_row(f"{name} @ {scored['threshold']} (threshold in-sample)", scored["at_threshold"]))
            if scored["out_of_fold"] is not None:
                lines.append(_md_row(f"{name} (threshold out of fold)", scored["out_of_fold"]))
    lines += ["", "Precision at a given recall (all labels; the best threshold for each):", "",
              "| scorer | AP | " + " | ".join(f"P@R≥{r}" for r in RECALL_LEVELS) + " |",
              "|---|---:|" + "---:|" * len(RECALL_LEVELS)]
    for name, entry in report["results"].items():
        scored = entry.get("as_scorer", entry)
        pr = scored["precision_at_recall"]
        lines.append(f"| {name} | {scored['average_precision']} | " + " | ".join(str(pr[str(r)]) for r in RECALL_LEVELS)
                     + " |")
    lines += ["", *report.get("notes", [])]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
