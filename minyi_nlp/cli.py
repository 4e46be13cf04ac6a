"""The ``minyi`` command line: prepare, train, evaluate, predict, serve, and friends."""

from __future__ import annotations

import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _register_subcommands() -> None:
    from minyi_nlp.batch.cli import reclassify_command  # imports typer only; the rest loads lazily
    from minyi_nlp.hotspots.cli import hotspots_command  # imports typer only
    from minyi_nlp.transformer.cli import models_app  # imports typer only

    app.add_typer(models_app, name="models")
    app.command("reclassify")(reclassify_command)
    app.command("hotspots")(hotspots_command)


_register_subcommands()


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False) -> None:
    """minyi: classify and dispatch Chinese citizen appeals."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def prepare() -> None:
    """De-duplicate the labelled raw data and split it into train / raw-text evaluation sets."""
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import run_prepare

    data = run_prepare(load_params().prepare)
    typer.echo(json.dumps(data.report, ensure_ascii=False))


class Backend(StrEnum):
    linear = "linear"
    transformer = "transformer"


class TrainTask(StrEnum):
    category = "category"
    department = "department"
    appeal_type = "appeal-type"
    all = "all"


@app.command()
def train(
    task: Annotated[TrainTask, typer.Option(help="category, department, appeal-type or all")] = TrainTask.category,
    no_track: Annotated[bool, typer.Option("--no-track", help="skip MLflow logging")] = False,
    with_feedback: Annotated[
        bool, typer.Option("--with-feedback", help="add confirmed dispatcher decisions (category model)")
    ] = False,
    backend: Annotated[
        Backend, typer.Option(help="category model: linear (TF-IDF) or transformer (params.yaml transformer)")
    ] = Backend.linear,
    model_name: Annotated[
        str | None,
        typer.Option(help="category model folder under models/ (default: category); serve it with "
                          "MINYI_CATEGORY_MODEL=NAME"),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a parameter: --set C=1 --set transformer.epochs=2"),
    ] = None,
) -> None:
    """Train a model on its training split; log and register it in MLflow."""
    if task in (TrainTask.category, TrainTask.all):
        from minyi_nlp.config import get_settings
        from minyi_nlp.params import load_params
        from minyi_nlp.train import train_category

        extra = None
        if with_feedback:
            from minyi_nlp.feedback import feedback_rows

            extra = feedback_rows()
            typer.echo(f"adding {len(extra)} confirmed decisions from the feedback store", err=True)
        params = _with_overrides(load_params(), set_ or [])
        model_dir = get_settings().models_dir / model_name if model_name else None
        try:
            res = train_category(params, model_dir=model_dir, track=not no_track, extra_rows=extra,
                                 backend=backend.value)
        except (FileNotFoundError, ValueError) as exc:
            _fail(str(exc))
        m = res.metrics
        typer.echo(
            f"model {res.manifest['version']} → {res.model_dir}\n"
            f"eval (raw text, n={m['n']}): macro-F1 {m['macro_f1']:.4f}  accuracy {m['accuracy']:.4f}  "
            f"top-2 {m['top2_accuracy']:.4f}  ECE {m['ece']:.4f}  (trained in {m['train_seconds']}s)"
        )
        if res.tracking:
            typer.echo(f"MLflow run {res.tracking['run_id']}, model version {res.tracking['model_version']}")
    if task in (TrainTask.department, TrainTask.all):
        from minyi_nlp.department import train_department

        d = train_department(track=not no_track)
        dm = d.metrics
        typer.echo(
            f"department model {d.manifest['version']} → {d.model_dir}\n"
            f"held-out derived labels (n={dm['n']}; label precision ~83 % on Teddy): "
            + "  ".join(f"{k} top-1 {v['top1']:.3f} top-3 {v['top3']:.3f}" for k, v in dm["methods"].items())
            + f"  (blend {dm['tuning']['blend']:.2f}, T {dm['tuning']['temperature']:.2f})"
        )
    if task in (TrainTask.appeal_type, TrainTask.all):
        from minyi_nlp.appeal_type import train_appeal_type

        a = train_appeal_type(track=not no_track)
        am, bare = a.metrics, a.metrics["held_out"]["model"]
        typer.echo(
            f"appeal-type model {a.manifest['version']} → {a.model_dir}\n"
            f"held-out Fuzhou (n={am['n']}): macro-F1 {am['macro_f1']:.4f} accuracy {am['accuracy']:.4f} "
            f"(model alone {bare['macro_f1']:.4f} / {bare['accuracy']:.4f}); "
            f"general examples {am['behavioural']['passed']}/{am['behavioural']['n']}"
        )


def _print_metrics(metrics: dict, fmt: OutputFormat) -> None:
    public = {k: v for k, v in metrics.items() if k not in ("reliability",)}
    if fmt is OutputFormat.json:
        typer.echo(json.dumps(public, ensure_ascii=False))
        return
    typer.echo(f"n={metrics['n']}  accuracy={metrics['accuracy']:.4f}  macro-F1={metrics['macro_f1']:.4f}  "
               f"top-2={metrics['top2_accuracy']:.4f}  ECE={metrics['ece']:.4f}")
    typer.echo(f"{'label':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}")
    for label, v in metrics["per_class"].items():
        typer.echo(f"{label:<10} {v['precision']:>9.3f} {v['recall']:>7.3f} {v['f1']:>7.3f} {v['support']:>8}")


@app.command()
def evaluate(
    data: Annotated[Path | None, typer.Option(help="labelled file (default: the prepared eval split)")] = None,
    text_col: Annotated[str, typer.Option(help="column with the raw appeal text")] = "text",
    label_col: Annotated[str, typer.Option(help="column with the true label")] = "label",
    task: Annotated[str, typer.Option(help="category (default) or department")] = "category",
    fmt: Annotated[OutputFormat, typer.Option("--format", help="text or json (one JSON line, last)")] = (
        OutputFormat.text
    ),
    out: Annotated[Path | None, typer.Option(help="also write the metrics JSON here")] = None,
    plots_dir: Annotated[Path | None, typer.Option(help="write confusion/reliability/F1 PNGs here")] = None,
    rejects: Annotated[Path | None, typer.Option(help="rejected rows (default: <data>.rejects.csv)")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding (default: UTF-8, GB18030 fallback)")] = None,
) -> None:
    """Evaluate the current model on a labelled file of raw text."""
    from minyi_nlp.artifacts import load_model, update_metrics
    from minyi_nlp.config import get_settings
    from minyi_nlp.data import DataError
    from minyi_nlp.evaluate import evaluate_file, write_plots
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import EVAL_CSV
    from minyi_nlp.train import ensure_category_model

    if task == "department":
        from minyi_nlp.routing.evaluate import evaluate_department_file

        try:
            metrics = evaluate_department_file(data, text_col=text_col, label_col=label_col, rejects=rejects)
        except (DataError, ValueError) as err:
            _fail(str(err))
        typer.echo(json.dumps(metrics, ensure_ascii=False))
        return
    if task != "category":
        _fail(f"--task must be 'category' or 'department', got {task!r}")
    settings = get_settings()
    params = load_params()
    model_dir = ensure_category_model()
    default_data = data is None
    if default_data:
        data = settings.processed_dir / EVAL_CSV
    if not data.exists():
        _fail(f"{data}: no such file")
    rejects = rejects or data.with_name(data.stem + ".rejects.csv")
    loaded = load_model(model_dir)
    try:
        metrics = evaluate_file(
            loaded.model, data, text_col=text_col, label_col=label_col, params=params,
            rejects_path=rejects, encoding=encoding,
        )
    except (DataError, ValueError) as err:
        _fail(str(err))
    metrics["model_version"] = loaded.version
    metrics["data"] = str(data)
    if plots_dir:
        write_plots(metrics, plots_dir)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    if default_data:
        update_metrics(model_dir, {k: v for k, v in metrics.items() if k not in ("reliability",)})
    _print_metrics(metrics, fmt)


@app.command()
def predict(
    text: Annotated[str | None, typer.Option(help="one appeal's raw text")] = None,
    title: Annotated[str | None, typer.Option(help="its title (optional)")] = None,
    data: Annotated[Path | None, typer.Option(help="a CSV/XLSX/JSONL/Parquet file of appeals")] = None,
    out: Annotated[Path | None, typer.Option(help="output file for --data (.csv, .jsonl or .parquet)")] = None,
    text_col: Annotated[str, typer.Option(help="content column in --data")] = "content",
    title_col: Annotated[str | None, typer.Option(help="title column in --data")] = None,
    id_col: Annotated[str | None, typer.Option(help="id column in --data")] = None,
    top_k: Annotated[int, typer.Option(help="categories to return")] = 3,
    explain: Annotated[bool, typer.Option(help="show the words behind the top category")] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
) -> None:
    """Rank categories for one text (--text) or for every row of a file (--data … --out …)."""
    from minyi_nlp.predict import CategoryPredictor, compose_text
    from minyi_nlp.train import ensure_category_model

    if (text is None) == (data is None):
        _fail("give exactly one of --text or --data")
    if text is not None:
        from minyi_nlp.config import get_settings
        from minyi_nlp.data.validate import check_content

        _, issue = check_content(compose_text(title, text), get_settings().max_content_chars)
        if issue is not None:
            _fail(f"--text: {issue[1]}")
    predictor = CategoryPredictor.load(ensure_category_model())
    if text is not None:
        ranked = predictor.rank([compose_text(title, text)], top_k)[0]
        why = predictor.explain(compose_text(title, text), ranked[0].label) if explain else []
        if fmt is OutputFormat.json:
            typer.echo(json.dumps({"model_version": predictor.version,
                                   "categories": [{"label": r.label, "score": round(r.score, 4)} for r in ranked],
                                   "reasons": [w for w, _ in why]}, ensure_ascii=False))
            return
        for i, r in enumerate(ranked, 1):
            typer.echo(f"{i}. {r.label:<8} {r.score:.3f}")
        if why:
            typer.echo("because of: " + "、".join(w for w, _ in why))
        return
    if out is None:
        _fail("--data needs --out")
    from minyi_nlp.data import DataError
    from minyi_nlp.predict_file import predict_file

    try:
        summary = predict_file(predictor, data, out, text_col=text_col, title_col=title_col,
                               id_col=id_col, top_k=top_k)
    except DataError as err:
        _fail(str(err))
    typer.echo(json.dumps(summary, ensure_ascii=False))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes")] = 1,
) -> None:
    """Start the suggestion service and the dispatcher console (trains the models first if missing)."""
    from serve.main import run

    run(host, port, workers=workers)


def _with_overrides(params, pairs: list[str]):
    """``params`` with ``KEY=VALUE`` overrides: train keys, ``transformer.KEY``, ``prepare.train_copies``.

    Values are read as YAML (``2`` → int, ``null`` → None) and validated like params.yaml.
    """
    import yaml
    from pydantic import ValidationError

    sections: dict[str, dict] = {"train": {}, "prepare": {}, "transformer": {}}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        section, _, field = key.strip().rpartition(".")
        section = section or "train"
        if not sep or not field or section not in sections or (section == "prepare" and field != "train_copies"):
            _fail(f"--set takes KEY=VALUE for a key of params.yaml's train section, transformer.KEY or "
                  f"prepare.train_copies, got {pair!r}")
        sections[section][field] = yaml.safe_load(value)
    update: dict = {"transformer": {**params.transformer, **sections.pop("transformer")}}
    for section, fields in sections.items():
        current = getattr(params, section)
        try:
            update[section] = current.model_validate({**current.model_dump(), **fields})
        except ValidationError as exc:
            err = exc.errors()[0]
            _fail(f"--set {section}.{err['loc'][0]}: {err['msg']}")
    return params.model_copy(update=update)


@app.command()
def cv(
    folds: Annotated[str | None, typer.Option(help="comma-separated folds (default: all)")] = None,
    out: Annotated[Path | None, typer.Option(help="write the JSON report here")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override a parameter: --set linear=logreg --set prepare.train_copies=all"),
    ] = None,
    name: Annotated[str | None, typer.Option(help="experiment name in MLflow (default: the overrides)")] = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="skip MLflow logging")] = False,
) -> None:
    """Cross-validate the category model over the raw-text folds (mean ± std macro-F1, ECE); log to MLflow."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.crossval import cross_validate
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import PreparedData
    from minyi_nlp.train import load_split

    params = _with_overrides(load_params(), set_ or [])
    settings = get_settings()
    load_split(settings.processed_dir, params)
    prepared = PreparedData.read(settings.processed_dir)
    chosen = [int(f) for f in folds.split(",")] if folds else None
    report = cross_validate(prepared.appeals, params, chosen, prepared.copies)
    report["name"] = name or (",".join(set_ or []) or "params.yaml")
    for f in report["folds"]:
        typer.echo(f"fold {f['fold']}: n={f['n']} macro-F1 {f['macro_f1']:.4f} ECE {f['ece']:.4f}", err=True)
    s = report["summary"]
    typer.echo(f"macro-F1 {s['macro_f1']['mean']:.4f} ± {s['macro_f1']['std']:.4f}, "
               f"ECE {s['ece']['mean']:.4f} ± {s['ece']['std']:.4f}", err=True)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    if not no_track:
        from minyi_nlp.tracking import log_cv_run

        run_id = log_cv_run(report["name"], report, [out] if out else [])
        typer.echo(f"MLflow run {run_id} ({report['name']})", err=True)
    typer.echo(json.dumps(report["summary"], ensure_ascii=False))


@app.command("label-noise")
def label_noise(
    folds: Annotated[int, typer.Option(help="K of the out-of-fold split")] = 5,
    out_dir: Annotated[Path | None, typer.Option(help="report folder (default: reports/)")] = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="skip MLflow logging")] = False,
) -> None:
    """Flag likely label errors with cleanlab and test whether training without them helps."""
    from minyi_nlp.label_noise import run_label_noise

    report = run_label_noise(n_splits=folds, out_dir=out_dir, track=not no_track)
    s = report["experiment"]["summary"]
    base, cleaned = s["baseline"]["macro_f1"]["mean"], s["cleaned"]["macro_f1"]["mean"]
    typer.echo(f"flagged {report['n_flagged']} of {report['n_appeals']} appeals; macro-F1 baseline {base:.4f}, "
               f"without the flagged rows {cleaned:.4f} (see label_noise.md)")


@app.command()
def bench(
    n: Annotated[int, typer.Option(help="single-appeal predictions to time")] = 500,
) -> None:
    """Time one-appeal prediction latency (model loaded) and batch throughput; print figures."""
    from minyi_nlp.bench import bench_predict

    typer.echo(json.dumps(bench_predict(n), ensure_ascii=False, indent=2))


if __name__ == "__main__":  # pragma: no cover
    app()
