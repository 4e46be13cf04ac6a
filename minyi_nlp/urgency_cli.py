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
    """Print the hazard lexicon's verdict, hits and the responders an urgent appeal is routed to first (JSON lines)."""
    from minyi_nlp.routing.hazards import load_hazards
    from minyi_nlp.text import preprocess

    lexicon = load_hazards()
    for text in texts:
        result = lexicon.match(preprocess(text))
        typer.echo(json.dumps({"urgent": result.urgent, "score": round(result.score, 3), "kinds": result.kinds,
                               "context": result.context, "hits": [h.as_dict() for h in result.hits],
                               "responders": list(lexicon.responders_of(result.kinds))},
                              ensure_ascii=False))


def _lexicon_features(lexicon, texts):  # type: ignore[no-untyped-def]
    from minyi_nlp.data.urgency_labels import lexicon_verdicts

    verdicts = lexicon_verdicts(lexicon.match_many(texts))
    return verdicts["scores"], verdicts["any_hit"], verdicts["negative_context"]


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
) -> None:
    """Write the urgency head's training rows (weak labels; never the hand-labelled appeals), as `minyi train`
    builds them from params.yaml's heads.urgency."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.data.tasks import urgency_task
    from minyi_nlp.params import load_params

    task = urgency_task(load_params())
    out = out or get_settings().processed_dir / "urgency_weak.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    task.frame.to_parquet(out, index=False)
    typer.echo(json.dumps({"out": str(out), "rows": len(task.frame), **task.report}, ensure_ascii=False))


@urgency_app.command("evaluate")
def evaluate_command(
    out: Annotated[Path | None, typer.Option(help="JSON report (default reports/urgency_lexicons.json; .md beside)")]
    = None,
    bundle: Annotated[bool, typer.Option(help="also score the served bundle's urgency head and its mix")] = True,
    compare: Annotated[list[Path] | None, typer.Option(
        help="other hazards.yaml files to score as well (repeat); default: the lexicon that drew the labels")] = None,
) -> None:
    """Recall/precision of lexicon versions (and the served bundle's urgency head and mix) on
    data/labels/urgency, on all labels and on the test half. `minyi train` writes the shipped flag's
    figures to reports/urgency_eval.json."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.data.urgency_labels import labels_path, read_urgency_labels
    from minyi_nlp.routing.hazards import load_hazards, parse_hazards
    from minyi_nlp.routing.urgency_eval import read_design, urgency_report, write_report

    labels = read_urgency_labels()
    lexicon = load_hazards()
    design = read_design()
    if compare is None:
        compare = [labels_path().with_name(design["lexicon_file"])]
    lexicons = {f"lexicon {lx.version} ({path.name})": lx for path in compare for lx in [parse_hazards(path)]}
    lexicons[f"lexicon {lexicon.version} (current)"] = lexicon
    notes = [
        "Lexicon 2026.12.1 drew the labels and was frozen before any was read. Later versions were tuned on the "
        "dev half (md5(id) even) and on behavioural tests: for them, read the test half.",
        "The threshold for recall ≥ 0.95 is chosen on the labels themselves ('in-sample'); 'out of fold' "
        "chooses it on 4/5 and applies it to the remaining 1/5 (5 folds, pooled).",
    ]
    scorers = {}
    if bundle:
        from minyi_nlp.dispatch import Dispatcher
        from minyi_nlp.dispatch.build import ensure_bundle
        dispatcher = Dispatcher.load(ensure_bundle())
        urgency = dispatcher.urgency

        def head(texts):  # type: ignore[no-untyped-def]
            return urgency.model_proba(dispatcher.bundle.encode_pairs([(None, t) for t in texts])[0])

        def served(texts):  # type: ignore[no-untyped-def]  # the flag's score, as the dispatcher computes it
            X, prepared, _ = dispatcher.bundle.encode_pairs([(None, t) for t in texts])
            return urgency.config.scores(urgency.model_proba(X), urgency.lexicon.match_many(prepared))

        if urgency.head is not None:
            name = ("second stage (served)" if urgency.config.stack is not None
                    else f"head + lexicon, weight {urgency.config.weight}")
            scorers = {"urgency head (served bundle)": head, name: served}
    report = urgency_report(labels, lexicons, scorers, sizes=design["stratum_sizes"], notes=notes)
    out = out or get_settings().reports_dir / "urgency_lexicons.json"
    write_report(report, out, out.with_suffix(".md"))
    typer.echo(out.with_suffix(".md").read_text(encoding="utf-8"))
