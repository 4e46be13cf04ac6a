"""``minyi urgency …``: hazard lexicon hits, candidate draws for labelling, weak labels, evaluation.

Importing this module imports Typer only; the commands load their modules when they run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

urgency_app = typer.Typer(add_completion=False, no_args_is_help=True,
                          help="Urgency: hazard lexicon, labels, weak labels, evaluation.")


@urgency_app.command("match")
def match_command(texts: Annotated[list[str], typer.Argument(help="appeal texts")]) -> None:
    """Print the hazard lexicon's verdict and hits for each text (as JSON lines)."""
    from minyi_nlp.routing.hazards import load_hazards
    from minyi_nlp.text import preprocess

    lexicon = load_hazards()
    for text in texts:
        result = lexicon.match(preprocess(text))
        typer.echo(json.dumps({"urgent": result.urgent, "score": round(result.score, 3), "kinds": result.kinds,
                               "context": result.context, "hits": [h.as_dict() for h in result.hits]},
                              ensure_ascii=False))


def _lexicon_features(lexicon, texts):  # type: ignore[no-untyped-def]
    results = lexicon.match_many(texts)
    return [r.score for r in results], [bool(r.hits) for r in results], [bool(r.context) for r in results]


@urgency_app.command("draw")
def draw_command(
    out: Annotated[Path, typer.Option(help="CSV of candidates to read and label")],
    seed: Annotated[int, typer.Option(help="random seed")] = 20261206,
    random: Annotated[int, typer.Option(help="uniform draws from the pool")] = 100,
    flagged: Annotated[int, typer.Option(help="draws among lexicon-flagged appeals")] = 100,
    weak_hit: Annotated[int, typer.Option(help="draws among appeals with weak hits only")] = 50,
    risk_word: Annotated[int, typer.Option(help="draws among appeals with a risk word but no hit")] = 50,
    skip_labelled: Annotated[bool, typer.Option(help="leave out appeals already in labels.csv")] = True,
) -> None:
    """Draw more appeals to label (masked text, shuffled; strata by the current lexicon)."""
    from minyi_nlp.data.urgency_labels import appeal_pool, draw_candidates, lexicon_stratum, read_urgency_labels
    from minyi_nlp.routing.hazards import load_hazards

    lexicon = load_hazards()
    pool = appeal_pool()
    if skip_labelled:
        pool = pool[~pool["id"].isin(read_urgency_labels()["id"])].reset_index(drop=True)
    scores, any_hit, _ = _lexicon_features(lexicon, pool["text"])
    strata = lexicon_stratum(pool["text"], scores, any_hit, lexicon.flag_at)
    sizes = {"random": random, "flagged": flagged, "weak_hit": weak_hit, "risk_word": risk_word}
    drawn = draw_candidates(pool, strata, sizes, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    drawn.drop(columns=["key"]).to_csv(out, index=False, encoding="utf-8")
    typer.echo(f"{len(drawn)} candidates → {out} (lexicon {lexicon.version}, seed {seed})")


@urgency_app.command("weak")
def weak_command(
    out: Annotated[Path | None, typer.Option(help="Parquet output (default data/processed/urgency_weak.parquet)")]
    = None,
    seed: Annotated[int, typer.Option(help="seed of the negative sample")] = 0,
) -> None:
    """Write weak training labels for the urgency head (never the hand-labelled appeals)."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.data.urgency_labels import appeal_pool, read_urgency_labels, weak_labels
    from minyi_nlp.data.validate import content_key
    from minyi_nlp.routing.hazards import load_hazards

    lexicon = load_hazards()
    pool = appeal_pool()
    scores, any_hit, context = _lexicon_features(lexicon, pool["text"])
    labelled = {content_key(t, t) for t in read_urgency_labels()["text"]}
    weak = weak_labels(pool, scores, any_hit, flag_at=lexicon.flag_at, exclude_keys=labelled,
                       negative_context=context, seed=seed)
    out = out or get_settings().processed_dir / "urgency_weak.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    weak.to_parquet(out, index=False)
    typer.echo(json.dumps({"out": str(out), "rows": len(weak), "rules": weak["rule"].value_counts().to_dict()},
                          ensure_ascii=False))


@urgency_app.command("evaluate")
def evaluate_command(
    out: Annotated[Path | None, typer.Option(help="JSON report (default reports/urgency_eval.json; .md beside)")]
    = None,
    baseline: Annotated[bool, typer.Option(help="also train and score the TF-IDF + LR baseline")] = True,
    compare: Annotated[list[Path] | None, typer.Option(
        help="other hazards.yaml files to score as well (repeat); default: the lexicon that drew the labels")] = None,
    seed: Annotated[int, typer.Option(help="seed of the weak-label negative sample")] = 0,
) -> None:
    """Recall/precision of the lexicon and the baseline on data/labels/urgency (see reports/urgency_eval.md)."""
    import numpy as np

    from minyi_nlp.config import get_settings
    from minyi_nlp.data.urgency_labels import appeal_pool, labels_path, read_urgency_labels, weak_labels
    from minyi_nlp.data.validate import content_key
    from minyi_nlp.routing.hazards import load_hazards, parse_hazards
    from minyi_nlp.routing.urgency_eval import read_design, urgency_report, write_report
    from minyi_nlp.urgency_model import UrgencyBaseline

    labels = read_urgency_labels()
    lexicon = load_hazards()
    design = read_design()
    if compare is None:
        compare = [labels_path().with_name(design["lexicon_file"])]
    lexicons = {f"lexicon {lx.version} ({path.name})": lx for path in compare for lx in [parse_hazards(path)]}
    lexicons[f"lexicon {lexicon.version} (current)"] = lexicon
    scorers = {}
    notes = [
        "Lexicon 2026.12.1 drew the labels and was frozen before any was read. Later versions were tuned on the "
        "dev half (md5(id) even) and on behavioural tests: for them, read the test half.",
        "The threshold for recall ≥ 0.95 is chosen on the labels themselves ('in-sample'); 'out of fold' "
        "chooses it on 4/5 and applies it to the remaining 1/5 (5 folds, pooled).",
    ]
    if baseline:
        pool = appeal_pool()
        scores, any_hit, context = _lexicon_features(lexicon, pool["text"])
        labelled = {content_key(t, t) for t in labels["text"]}
        weak = weak_labels(pool, scores, any_hit, flag_at=lexicon.flag_at, exclude_keys=labelled,
                           negative_context=context, seed=seed)
        model = UrgencyBaseline().fit(weak["text"].tolist(), weak["urgent"], sample_weight=weak["confidence"])

        def with_lexicon(texts):  # type: ignore[no-untyped-def]
            return (model.score_texts(texts) + np.array([r.score for r in lexicon.match_many(texts)])) / 2

        scorers["baseline TF-IDF+LR (weak labels)"] = model.score_texts
        scorers["mean(baseline, lexicon score)"] = with_lexicon
        notes.append(f"Baseline trained on {len(weak)} weak labels: {weak['rule'].value_counts().to_dict()}.")
    report = urgency_report(labels, lexicons, scorers, sizes=design["stratum_sizes"], notes=notes)
    out = out or get_settings().reports_dir / "urgency_eval.json"
    write_report(report, out, out.with_suffix(".md"))
    typer.echo(out.with_suffix(".md").read_text(encoding="utf-8"))
