"""Label-noise analysis with cleanlab: which given labels look wrong, and does removing them help?

1. Out-of-fold probabilities for every de-duplicated appeal (stratified K-fold over all of them,
   the project's classifier with temperature calibration to keep it affordable).
2. ``cleanlab.filter.find_label_issues`` flags likely label errors; ``cleanlab.rank`` scores them.
3. Experiment: for each raw-text evaluation fold k, train on the rows outside fold k with and
   without the flagged *training* rows, evaluate both on fold k's raw texts with their labels as
   given, and compare macro-F1 and ECE (mean ± std over the folds).

Run as ``python -m minyi_nlp.models.label_noise [--folds 5] [--out-dir reports]``; writes
``label_noise.json`` and ``label_noise.md`` and logs a run to the MLflow experiment
``minyi-label-noise``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from minyi_nlp.models.text_classifier import TextClassifier
    from minyi_nlp.params import EncoderParams, HeadParams, Params

log = logging.getLogger(__name__)

EXPERIMENT = "minyi-label-noise"
DEFAULT_CALIBRATION = "temperature"
FILTER_BY = "prune_by_noise_rate"
SAMPLE_SIZE = 30
EXCERPT_CHARS = 80
TOP_PAIRS = 15
REPRODUCE = "nice .venv/bin/python -m minyi_nlp.models.label_noise --folds {folds} --out-dir {out_dir}"


# -- model -----------------------------------------------------------------------------------------
def with_calibration(train: HeadParams, calibration: str | None) -> HeadParams:
    """``train`` with another calibration method (``None``: unchanged)."""
    return train if not calibration else train.model_copy(update={"calibration": calibration})


def fit_classifier(
    train: HeadParams, texts: Sequence[str], labels: Sequence[str], fallback: HeadParams | None = None,
    encoder: EncoderParams | None = None,
) -> tuple[TextClassifier, HeadParams]:
    """Fit the encoder (``encoder``, default params.yaml's) + a category head with ``train``; if its
    calibration method is rejected, fit ``fallback`` instead.

    Returns the fitted model and the parameters actually used.
    """
    from minyi_nlp.models.text_classifier import TextClassifier
    from minyi_nlp.params import load_params

    encoder = encoder or load_params().encoder
    try:
        return TextClassifier(encoder, train).fit(list(texts), list(labels)), train
    except ValueError as exc:
        if fallback is None or fallback == train or "calibration" not in str(exc):
            raise
        log.warning("calibration=%r rejected (%s): falling back to %r", train.calibration, exc, fallback.calibration)
        return TextClassifier(encoder, fallback).fit(list(texts), list(labels)), fallback


def aligned_proba(clf: TextClassifier, texts: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """``clf.predict_proba`` with columns in the order of ``classes`` (0 for a class it never saw)."""
    proba = clf.predict_proba(list(texts))
    out = np.zeros((len(texts), len(classes)))
    col = {str(c): i for i, c in enumerate(clf.classes_)}
    for j, c in enumerate(classes):
        if c in col:
            out[:, j] = proba[:, col[c]]
    return out


def out_of_fold_proba(
    texts: Sequence[str],
    labels: Sequence[str],
    train: HeadParams,
    *,
    n_splits: int = 5,
    seed: int = 42,
    fallback: HeadParams | None = None,
    encoder: EncoderParams | None = None,
) -> tuple[np.ndarray, list[str], HeadParams]:
    """Stratified K-fold out-of-fold probabilities for every row.

    Returns the (n, n_classes) matrix, the class order (sorted labels) and the parameters used.
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray([str(v) for v in labels], dtype=object)
    x = np.asarray([str(t) for t in texts], dtype=object)
    classes = sorted(set(y))
    proba = np.zeros((len(y), len(classes)))
    skf = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for k, (tr, te) in enumerate(skf.split(x, y)):
        t0 = time.perf_counter()
        clf, train = fit_classifier(train, x[tr], y[tr], fallback, encoder)
        proba[te] = aligned_proba(clf, x[te], classes)
        log.info("out-of-fold %d/%d: %d train rows, %.1fs", k + 1, n_splits, len(tr), time.perf_counter() - t0)
    return proba, classes, train


# -- cleanlab ------------------------------------------------------------------------------------------
def find_issues(labels: Sequence[str], proba: np.ndarray, classes: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """cleanlab's label-issue mask and label-quality score (self-confidence, lower = more suspect)."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[str(v)] for v in labels])
    issues = find_label_issues(y, proba, filter_by=FILTER_BY, n_jobs=1)
    quality = get_label_quality_scores(y, proba, method="self_confidence")
    return np.asarray(issues, dtype=bool), np.asarray(quality, dtype=float)


def excerpt(text: str, n: int = EXCERPT_CHARS) -> str:
    """The first ``n`` characters on one line, PII masked (again) before cutting."""
    from minyi_nlp.text import mask_pii

    return " ".join(mask_pii(str(text)).split())[:n]


def summarize_issues(
    appeals: pd.DataFrame,
    proba: np.ndarray,
    classes: Sequence[str],
    issues: np.ndarray,
    quality: np.ndarray,
    sample_size: int = SAMPLE_SIZE,
) -> dict[str, Any]:
    """Counts overall, per given label, per source; given→suggested pairs; the most suspect appeals."""
    import pandas as pd

    classes = list(classes)
    given = appeals["label"].astype(str).to_numpy()
    suggested = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    index = {c: i for i, c in enumerate(classes)}
    gi = np.array([index[g] for g in given])
    rows = np.arange(len(given))
    frame = pd.DataFrame(
        {
            "id": appeals["id"].astype(str).to_numpy(),
            "given": given,
            "suggested": suggested,
            "p_given": proba[rows, gi],
            "p_suggested": proba.max(axis=1),
            "quality": quality,
            "flagged": issues,
            "source": appeals["source"].astype(str).to_numpy(),
            "text": appeals["text"].astype(str).to_numpy(),
        }
    )

    def counts(col: str) -> dict[str, dict[str, float]]:
        g = frame.groupby(col)["flagged"].agg(["size", "sum"])
        return {
            str(k): {"n": int(r["size"]), "flagged": int(r["sum"]), "share": round(float(r["sum"] / r["size"]), 4)}
            for k, r in g.sort_values("size", ascending=False).iterrows()
        }

    flagged = frame[frame["flagged"]].sort_values("quality", kind="stable")
    pairs = flagged.groupby(["given", "suggested"]).size().sort_values(ascending=False, kind="stable")
    sample = [
        {
            "id": r.id,
            "given": r.given,
            "suggested": r.suggested,
            "p_given": round(float(r.p_given), 4),
            "p_suggested": round(float(r.p_suggested), 4),
            "source": r.source,
            "excerpt": excerpt(r.text),
        }
        for r in flagged.head(sample_size).itertuples()
    ]
    return {
        "n_appeals": len(frame),
        "n_flagged": int(frame["flagged"].sum()),
        "share_flagged": round(float(frame["flagged"].mean()), 4),
        "flagged_with_suggestion_equal_to_given": int((flagged["given"] == flagged["suggested"]).sum()),
        "by_given_label": counts("given"),
        "by_source": counts("source"),
        "suggested_label_of_flagged": {str(k): int(v) for k, v in flagged["suggested"].value_counts().items()},
        "pairs": [
            {"given": g, "suggested": s, "n": int(n)} for (g, s), n in pairs.head(TOP_PAIRS).items()
        ],
        "sample": sample,
        "flagged_ids": [
            {"id": r.id, "given": r.given, "suggested": r.suggested, "quality": round(float(r.quality), 4)}
            for r in flagged.itertuples()
        ],
    }


# -- experiment --------------------------------------------------------------------------------------------------
def _mean_std(values: Sequence[float | None]) -> dict[str, float]:
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    return {"mean": round(float(arr.mean()), 4), "std": round(float(arr.std()), 4)}


def cleaning_experiment(
    appeals: pd.DataFrame,
    issues: np.ndarray,
    train: HeadParams,
    *,
    eval_folds: Sequence[int] | None = None,
    n_bins: int = 10,
    encoder: EncoderParams | None = None,
) -> dict[str, Any]:
    """Per raw-text fold k: train on fold != k with and without its flagged rows, evaluate on fold k.

    Evaluation labels are never changed; only flagged rows in the training part are removed.
    """
    from minyi_nlp.models.metrics import classification_report

    fold = appeals["fold"].to_numpy()
    texts = appeals["text"].astype(str).to_numpy(dtype=object)
    labels = appeals["label"].astype(str).to_numpy(dtype=object)
    eval_folds = sorted(int(k) for k in set(fold) if k >= 0) if eval_folds is None else list(eval_folds)
    keys = ("macro_f1", "accuracy", "ece")
    per_fold = []
    for k in eval_folds:
        test = fold == k
        row: dict[str, Any] = {"fold": int(k), "n_eval": int(test.sum()), "eval_flagged": int(issues[test].sum())}
        for variant, keep in (("baseline", ~test), ("cleaned", ~test & ~issues)):
            t0 = time.perf_counter()
            clf, _ = fit_classifier(train, texts[keep], labels[keep], encoder=encoder)
            classes = [str(c) for c in clf.classes_]
            proba = aligned_proba(clf, texts[test], classes)
            rep = classification_report(labels[test], proba, classes, n_bins)
            # secondary, biased upwards for both variants: fold k without its own flagged rows
            clean_eval = ~issues[test]
            unflagged = (
                round(float(classification_report(labels[test][clean_eval], proba[clean_eval], classes, n_bins)[
                    "macro_f1"]), 4) if clean_eval.any() else None
            )
            row[variant] = {
                "n_train": int(keep.sum()),
                **{key: round(float(rep[key]), 4) for key in keys},
                "macro_f1_unflagged_eval": unflagged,
            }
            log.info("fold %d %s: %d train rows, macro-F1 %.4f, ECE %.4f, %.1fs", k, variant, keep.sum(),
                     rep["macro_f1"], rep["ece"], time.perf_counter() - t0)
        row["removed"] = row["baseline"]["n_train"] - row["cleaned"]["n_train"]
        per_fold.append(row)
    summary: dict[str, Any] = {}
    for variant in ("baseline", "cleaned"):
        summary[variant] = {
            key: _mean_std([f[variant][key] for f in per_fold]) for key in (*keys, "macro_f1_unflagged_eval")
        }
    summary["cleaned_minus_baseline"] = {
        key: _mean_std([f["cleaned"][key] - f["baseline"][key] for f in per_fold]) for key in keys
    }
    summary["folds_where_cleaning_raised_macro_f1"] = sum(
        f["cleaned"]["macro_f1"] > f["baseline"]["macro_f1"] for f in per_fold
    )
    return {"folds": per_fold, "summary": summary}


# -- the whole analysis -------------------------------------------------------------------------------------------
def load_appeals() -> pd.DataFrame:
    """``data/processed/appeals.parquet``, running the prepare stage first when it is missing."""
    import pandas as pd

    from minyi_nlp.config import get_settings
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import APPEALS_FILE, run_prepare

    path = get_settings().processed_dir / APPEALS_FILE
    if not path.exists():
        log.info("no %s: running prepare", path)
        run_prepare(load_params().prepare)
    return pd.read_parquet(path)


def run_label_noise(
    appeals: pd.DataFrame | None = None,
    *,
    params: Params | None = None,
    train: HeadParams | None = None,
    calibration: str | None = DEFAULT_CALIBRATION,
    n_splits: int = 5,
    eval_folds: Sequence[int] | None = None,
    sample_size: int = SAMPLE_SIZE,
    out_dir: Path | None = None,
    track: bool = True,
) -> dict[str, Any]:
    """Out-of-fold probabilities → cleanlab flags → cleaning experiment → reports (and an MLflow run)."""
    from minyi_nlp.config import PROJECT_DIR, get_settings
    from minyi_nlp.models.metrics import classification_report
    from minyi_nlp.params import load_params

    t_start = time.perf_counter()
    params = params or load_params()
    appeals = load_appeals() if appeals is None else appeals
    appeals = appeals.reset_index(drop=True)
    base = train or params.heads["category"].model
    requested = with_calibration(base, calibration)
    out_dir = out_dir or get_settings().reports_dir

    texts, labels = appeals["text"].astype(str).tolist(), appeals["label"].astype(str).tolist()
    proba, classes, used = out_of_fold_proba(
        texts, labels, requested, n_splits=n_splits, seed=params.prepare.seed, fallback=base, encoder=params.encoder
    )
    oof = classification_report(labels, proba, classes, params.evaluate.n_bins)
    issues, quality = find_issues(labels, proba, classes)
    summary = summarize_issues(appeals, proba, classes, issues, quality, sample_size)
    log.info("cleanlab flagged %d of %d appeals", summary["n_flagged"], summary["n_appeals"])
    experiment = cleaning_experiment(appeals, issues, used, eval_folds=eval_folds, n_bins=params.evaluate.n_bins,
                                     encoder=params.encoder)

    shown = out_dir.relative_to(PROJECT_DIR) if out_dir.is_relative_to(PROJECT_DIR) else out_dir
    report: dict[str, Any] = {
        "command": REPRODUCE.format(folds=n_splits, out_dir=shown),
        "params": {
            "n_splits": n_splits,
            "seed": params.prepare.seed,
            "calibration_requested": calibration,
            "calibration_used": used.calibration,
            "filter_by": FILTER_BY,
            "quality_method": "self_confidence",
            "train": used.model_dump(),
        },
        "out_of_fold": {k: round(float(oof[k]), 4) for k in ("macro_f1", "accuracy", "top2_accuracy", "ece")},
        **summary,
        "experiment": experiment,
        "seconds": round(time.perf_counter() - t_start, 1),
    }
    paths = write_reports(report, out_dir)
    if track:
        report["mlflow_run_id"] = log_to_mlflow(report, paths)
    return report


# -- outputs ---------------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|")


def _pm(stats: dict[str, float]) -> str:
    return f"{stats['mean']:.4f} ± {stats['std']:.4f}"


def render_markdown(report: dict[str, Any]) -> str:
    """A short human-readable version of the report."""
    p, s = report["params"], report["experiment"]["summary"]
    n_folds = len(report["experiment"]["folds"])
    lines = [
        "# Label noise (cleanlab)",
        "",
        f"Reproduce: `{report['command']}`",
        "",
        f"Out-of-fold probabilities for all {report['n_appeals']:,} de-duplicated appeals from a stratified "
        f"{p['n_splits']}-fold split (seed {p['seed']}) of the project classifier with "
        f"`calibration={p['calibration_used']}` (out-of-fold macro-F1 {report['out_of_fold']['macro_f1']:.4f}, "
        f"ECE {report['out_of_fold']['ece']:.4f}); `cleanlab.filter.find_label_issues(filter_by={p['filter_by']})` "
        f"flags **{report['n_flagged']:,} appeals ({report['share_flagged']:.1%})** as likely label errors. "
        "A flag means the model disagrees with the given label more than the estimated noise rates allow; "
        "it is a candidate for review, not a proven error.",
        "",
        "## Flagged per given label",
        "",
        "| given label | appeals | flagged | share | flagged rows suggesting this label |",
        "|---|---:|---:|---:|---:|",
    ]
    suggested = report["suggested_label_of_flagged"]
    for lab, c in report["by_given_label"].items():
        lines.append(f"| {lab} | {c['n']} | {c['flagged']} | {c['share']:.1%} | {suggested.get(lab, 0)} |")
    lines += ["", "## Flagged per source", "", "| source | appeals | flagged | share |", "|---|---:|---:|---:|"]
    for src, c in report["by_source"].items():
        lines.append(f"| {src} | {c['n']} | {c['flagged']} | {c['share']:.1%} |")
    lines += ["", "## Most common given → suggested pairs", "", "| given | suggested | flagged |", "|---|---|---:|"]
    for pair in report["pairs"]:
        lines.append(f"| {pair['given']} | {pair['suggested']} | {pair['n']} |")
    lines += [
        "",
        f"## The {len(report['sample'])} most suspect appeals (lowest probability of the given label)",
        "",
        "Texts are PII-masked; first 80 characters.",
        "",
        "| id | source | given | P(given) | suggested | P(suggested) | text |",
        "|---|---|---|---:|---|---:|---|",
    ]
    for r in report["sample"]:
        src = "raw" if r["source"].endswith("raw") else "seg"
        lines.append(
            f"| {_cell(r['id'])} | {src} | {r['given']} | {r['p_given']:.3f} | {r['suggested']} | "
            f"{r['p_suggested']:.3f} | {_cell(r['excerpt'])} |"
        )
    lines += [
        "",
        f"## Does removing the flagged training rows help? ({n_folds} raw-text folds)",
        "",
        "For each raw-text evaluation fold k: train on every appeal outside fold k (baseline), or on the same "
        "rows minus those flagged (cleaned); evaluate both on fold k's raw texts with their labels as given. "
        "Caveat: the flags come from the out-of-fold split above, whose models were trained with fold k's labels, "
        "so the choice of which training rows to drop used fold k's labels indirectly; the evaluation labels "
        "themselves are never changed or dropped.",
        "",
        "| variant | macro-F1 | ECE | accuracy | macro-F1 on unflagged eval rows* |",
        "|---|---|---|---|---|",
    ]
    for v in ("baseline", "cleaned"):
        lines.append(
            f"| {v} | {_pm(s[v]['macro_f1'])} | {_pm(s[v]['ece'])} | {_pm(s[v]['accuracy'])} | "
            f"{_pm(s[v]['macro_f1_unflagged_eval'])} |"
        )
    d = s["cleaned_minus_baseline"]
    lines += [
        f"| cleaned − baseline (paired) | {_pm(d['macro_f1'])} | {_pm(d['ece'])} | {_pm(d['accuracy'])} | |",
        "",
        f"Cleaning raised macro-F1 on {s['folds_where_cleaning_raised_macro_f1']} of {n_folds} folds. "
        "Mean ± population std over folds.",
        "",
        "\\* fold k without its own flagged rows: biased upwards for both variants (those are the rows the "
        "model disagrees with), shown only to tell whether noisy evaluation labels hide a gain.",
        "",
        "| fold | eval rows | eval rows flagged | training rows removed | baseline macro-F1 | cleaned macro-F1 "
        "| baseline ECE | cleaned ECE |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in report["experiment"]["folds"]:
        b, c = f["baseline"], f["cleaned"]
        lines.append(
            f"| {f['fold']} | {f['n_eval']} | {f['eval_flagged']} | {f['removed']} | {b['macro_f1']:.4f} | "
            f"{c['macro_f1']:.4f} | {b['ece']:.4f} | {c['ece']:.4f} |"
        )
    lines += ["", f"Run time {report['seconds']:.0f} s ({report['seconds'] / 60:.1f} min)."]
    return "\n".join(lines) + "\n"


def write_reports(report: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``label_noise.json`` and ``label_noise.md`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "label_noise.json", out_dir / "label_noise.md"
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return json_path, md_path


def log_to_mlflow(report: dict[str, Any], artifacts: Sequence[Path], experiment: str = EXPERIMENT) -> str:
    """Log params, counts, mean/std metrics of both variants, per-fold metrics and the report files."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from minyi_nlp.config import get_settings
    from minyi_nlp.models.tracking import tracking_uri

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is not None:
        exp_id = exp.experiment_id
    else:
        location = (get_settings().project_dir / "mlartifacts").as_uri() if uri.startswith("sqlite:///") else None
        exp_id = client.create_experiment(experiment, artifact_location=location)
    p = report["params"]
    params = {k: v for k, v in p.items() if k != "train"}
    params.update({f"train.{k}": ("null" if v is None else v) for k, v in p["train"].items()})
    metrics = {
        "n_appeals": report["n_appeals"],
        "n_flagged": report["n_flagged"],
        "share_flagged": report["share_flagged"],
        **{f"oof_{k}": v for k, v in report["out_of_fold"].items()},
    }
    summary = report["experiment"]["summary"]
    for variant in ("baseline", "cleaned", "cleaned_minus_baseline"):
        for key, stats in summary[variant].items():
            metrics[f"{variant}_{key}_mean"], metrics[f"{variant}_{key}_std"] = stats["mean"], stats["std"]
    with mlflow.start_run(experiment_id=exp_id, run_name="cleanlab") as run:
        mlflow.log_params({k: ("null" if v is None else v) for k, v in params.items()})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items()})
        for f in report["experiment"]["folds"]:
            for variant in ("baseline", "cleaned"):
                for key in ("macro_f1", "ece"):
                    mlflow.log_metric(f"fold_{variant}_{key}", float(f[variant][key]), step=int(f["fold"]))
        mlflow.set_tags({"kind": "label-noise", "tool": "cleanlab"})
        for path in artifacts:
            mlflow.log_artifact(str(path))
        log.info("MLflow run %s in %s (%s)", run.info.run_id, experiment, uri)
        return run.info.run_id


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m minyi_nlp.models.label_noise [--folds 5] [--out-dir reports]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5, help="K of the out-of-fold split (default 5)")
    parser.add_argument("--out-dir", type=Path, default=None, help="report folder (default: reports/)")
    parser.add_argument("--calibration", default=DEFAULT_CALIBRATION,
                        help="calibration of the models here ('' keeps params.yaml's; default temperature)")
    parser.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    report = run_label_noise(
        n_splits=args.folds, out_dir=args.out_dir, calibration=args.calibration or None, track=not args.no_track
    )
    s = report["experiment"]["summary"]
    print(
        f"flagged {report['n_flagged']} of {report['n_appeals']} appeals; "
        f"macro-F1 baseline {_pm(s['baseline']['macro_f1'])}, cleaned {_pm(s['cleaned']['macro_f1'])}; "
        f"ECE baseline {_pm(s['baseline']['ece'])}, cleaned {_pm(s['cleaned']['ece'])}"
    )


if __name__ == "__main__":
    main()
