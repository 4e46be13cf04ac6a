"""Evaluate sub-category predictions (一级/二级/三级 of ``taxonomy.yaml``) against the hand-labelled set.

A prediction for one appeal is a list of ``(path, score)``, ``path`` being ``"一级"``, ``"一级/二级"`` or
``"一级/二级/三级"`` (or ``"其他"`` when no 一级 fits). At level k, a node's score is the score of its own
entry when the list has one, else the best score below it; nodes are ranked by that score. A hierarchical
head gives every parent at least its children's score, so both readings agree for it.

:func:`evaluate` reports, per level, on the appeals whose hand label reaches that level: top-1 and top-3
accuracy, the share whose top-1 node is 其他 (predicted and hand-labelled) and how many got no node at
that level (counted as wrong). ``python -m minyi_nlp.models.subcategory_eval baseline`` scores the keyword
lexicon alone (:meth:`minyi_nlp.data.weak_labels.Lexicon.rank`), the figure a trained head has to beat;
``… score PREDICTIONS.jsonl`` scores any head's output (lines ``{"key": …, "subcategories": [{"path", "score"}]}``).
:func:`bundle_report` scores a bundle's sub-category head (``minyi train`` writes it to
``reports/subcategory_eval.json``): every node it predicts, as shipped (reconciled with the category head)
and the tree head alone, next to the lexicon baseline, on the same appeals.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

SEP = "/"
OTHER = "其他"
LEVELS: tuple[int, ...] = (1, 2, 3)
Prediction = Sequence[tuple[str, float]]
BASELINE_JSON = "subcategory_lexicon_baseline.json"
BASELINE_MD = "subcategory_lexicon_baseline.md"
REPORT_JSON = "subcategory_eval.json"
REPORT_MD = "subcategory_eval.md"


def _prefix(path: str, level: int) -> str | None:
    parts = path.split(SEP)
    return SEP.join(parts[:level]) if len(parts) >= level else None


def ranked_nodes(prediction: Prediction, level: int) -> list[str]:
    """The level-``level`` nodes of one prediction, best first (ties: the order given)."""
    best: dict[str, float] = {}
    for path, score in prediction:
        node = _prefix(str(path), level)
        if node is not None and (node not in best or float(score) > best[node]):
            best[node] = float(score)
    return sorted(best, key=lambda n: -best[n])


def _is_other(node: str | None) -> bool:
    return node is not None and node.split(SEP)[-1] == OTHER


def _level_report(gold: Sequence[str], predictions: Sequence[Prediction], level: int) -> dict[str, Any]:
    rows = [(g_node, ranked_nodes(p, level)) for g, p in zip(gold, predictions, strict=True)
            if (g_node := _prefix(g, level)) is not None]
    n = len(rows)
    if n == 0:
        return {"n": 0}
    top1 = sum(bool(r) and r[0] == g for g, r in rows)
    top3 = sum(g in r[:3] for g, r in rows)
    return {
        "n": n,
        "top1": round(top1 / n, 4),
        "top3": round(top3 / n, 4),
        "top1_correct": top1,
        "top3_correct": top3,
        "predicted_other": round(sum(bool(r) and _is_other(r[0]) for _, r in rows) / n, 4),
        "hand_labelled_other": round(sum(_is_other(g) for g, _ in rows) / n, 4),
        "no_prediction": sum(not r for _, r in rows),
    }


def evaluate(predictions: Mapping[str, Prediction] | Sequence[Prediction], labels: pd.DataFrame) -> dict[str, Any]:
    """Top-1/top-3 and 其他 shares per level: all hand-labelled appeals, the random draw, the targeted draw.

    ``predictions``: by the labels' ``key``, or a sequence in the labels' row order. An appeal missing
    from a mapping counts as predicted nothing.
    """
    if isinstance(predictions, Mapping):
        preds = [list(predictions.get(k, ())) for k in labels["key"]]
    else:
        preds = [list(p) for p in predictions]
        if len(preds) != len(labels):
            raise ValueError(f"{len(preds)} predictions for {len(labels)} labelled appeals")
    gold = labels["path"].tolist()
    out: dict[str, Any] = {}
    for part, mask in (("all", None), ("random_draw", labels["draw"] == "random"),
                       ("targeted_draw", labels["draw"] == "targeted")):
        idx = range(len(labels)) if mask is None else [i for i, m in enumerate(mask) if m]
        g = [gold[i] for i in idx]
        p = [preds[i] for i in idx]
        out[part] = {"appeals": len(g), **{f"l{lv}": _level_report(g, p, lv) for lv in LEVELS}}
    return out


def lexicon_predictions(labels: pd.DataFrame) -> list[list[tuple[str, float]]]:
    """The lexicon baseline's ranked nodes for every labelled appeal (text only: no Teddy 一级, no reply)."""
    from minyi_nlp.data.weak_labels import load_lexicon

    lexicon = load_lexicon()
    return [lexicon.rank(t) for t in labels["text"]]


def bundle_report(bundle: Any, labels: pd.DataFrame | None = None) -> dict[str, Any]:
    """The bundle's ``subcategory`` head on the hand-labelled set (default :func:`read_labels`): ``head`` as
    shipped (reconciled with the category head), ``tree_head_alone``, and ``lexicon_baseline``."""
    from minyi_nlp.data.subcategory_labels import read_labels
    from minyi_nlp.models.subcategories import RULE, all_nodes, subcategory_proba

    labels = read_labels() if labels is None else labels
    X, _ = bundle.encode(labels["text"].astype(str).tolist())
    tree, category = bundle.head("subcategory"), bundle.head("category")
    shipped = subcategory_proba(tree, X, category.predict_proba(X), category.labels)
    return {
        "data": f"data/labels/subcategories/labels.csv: {len(labels)} hand-labelled appeals (never trained on)",
        "rule": RULE,
        "head": evaluate(all_nodes(shipped, tree), labels),
        "tree_head_alone": evaluate(all_nodes(tree.predict_proba(X), tree), labels),
        "lexicon_baseline": evaluate(lexicon_predictions(labels), labels),
    }


def write_bundle_report(report: dict[str, Any], folder: Path) -> list[Path]:
    """``subcategory_eval.json`` (the whole report) and ``.md`` (the three tables) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    command = "minyi train  (or dvc repro)"
    text = "\n".join(markdown(report[part], title, command) for part, title in (
        ("head", "Sub-category head as shipped (reconciled with the category head)"),
        ("tree_head_alone", "Sub-category tree head alone"),
        ("lexicon_baseline", "Keyword-lexicon baseline")))
    paths = [folder / REPORT_JSON, folder / REPORT_MD]
    paths[0].write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(f"Rule: {report.get('rule', '')}\n\n" + text, encoding="utf-8")
    return paths


def markdown(report: dict[str, Any], title: str, command: str) -> str:
    """A small Markdown table of :func:`evaluate`'s report."""
    lines = [f"# {title}", "", f"Reproduce: `{command}`.", "",
             "| appeals | level | n | top-1 | top-3 | top-1 is 其他 (hand label 其他) | no prediction |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for part in ("all", "random_draw", "targeted_draw"):
        for lv in LEVELS:
            r = report[part][f"l{lv}"]
            if not r.get("n"):
                continue
            lines.append(f"| {part.replace('_', ' ')} ({report[part]['appeals']}) | {'一二三'[lv - 1]}级 | {r['n']} | "
                         f"{r['top1']:.3f} | {r['top3']:.3f} | {r['predicted_other']:.3f} "
                         f"({r['hand_labelled_other']:.3f}) | {r['no_prediction']} |")
    return "\n".join(lines) + "\n"


def _read_predictions(path: Path) -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["key"])] = [(str(s["path"]), float(s["score"])) for s in row["subcategories"]]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}: line {number}: expected {{'key', 'subcategories': [{{'path', 'score'}}]}} "
                             f"({err})") from None
    return out


def main(argv: list[str] | None = None) -> int:
    from minyi_nlp.config import get_settings
    from minyi_nlp.data.subcategory_labels import read_labels

    ap = argparse.ArgumentParser(prog="python -m minyi_nlp.models.subcategory_eval", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("baseline", help="score the keyword lexicon alone; write reports/subcategory_lexicon_baseline.*")
    b.add_argument("--reports", type=Path, default=None)
    s = sub.add_parser("score", help="score a JSONL file of predictions; print the report as JSON")
    s.add_argument("predictions", type=Path)
    args = ap.parse_args(argv)
    labels = read_labels()
    if args.command == "score":
        print(json.dumps(evaluate(_read_predictions(args.predictions), labels), ensure_ascii=False))
        return 0
    report = evaluate(lexicon_predictions(labels), labels)
    folder = args.reports or get_settings().reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    command = "python -m minyi_nlp.models.subcategory_eval baseline"
    (folder / BASELINE_JSON).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / BASELINE_MD).write_text(markdown(report, "Sub-categories: keyword-lexicon baseline", command),
                                      encoding="utf-8")
    a = report["all"]
    print(" ".join(f"l{lv}: top-1 {a[f'l{lv}']['top1']} top-3 {a[f'l{lv}']['top3']} (n = {a[f'l{lv}']['n']})"
                   for lv in LEVELS) + f" → {folder / BASELINE_JSON}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
