"""The ``minyi`` command line: prepare, train, evaluate, predict, serve, and friends."""

from __future__ import annotations

import json
import logging
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _register_subcommands() -> None:
    from minyi_nlp.batch.cli import reclassify_command  # imports typer only; the rest loads lazily
    from minyi_nlp.hotspots.cli import hotspots_command  # imports typer only
    from minyi_nlp.lists_cli import lists_app  # imports typer only
    from minyi_nlp.models_cli import models_app  # imports typer only
    from minyi_nlp.urgency_cli import urgency_app  # imports typer only

    app.add_typer(models_app, name="models")
    app.add_typer(urgency_app, name="urgency")
    app.add_typer(lists_app, name="lists")
    app.command("reclassify")(reclassify_command)
    app.command("hotspots")(hotspots_command)


_register_subcommands()


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars or progress lines")]


def _quiet(quiet: bool) -> None:
    """``--quiet`` of a command: no progress output, and only warnings in the log."""
    if quiet:
        from minyi_nlp import progress

        progress.configure(quiet=True)
        logging.getLogger().setLevel(logging.WARNING)


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logging")] = False,
    quiet: QuietOption = False,
) -> None:
    """minyi: classify and dispatch Chinese citizen appeals."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    _quiet(quiet)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def prepare(quiet: QuietOption = False) -> None:
    """De-duplicate the labelled raw data and split it into train / raw-text evaluation sets."""
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import run_prepare

    _quiet(quiet)
    data = run_prepare(load_params().prepare)
    typer.echo(json.dumps(data.report, ensure_ascii=False))


@app.command()
def train(
    model_name: Annotated[
        str | None, typer.Option(help="bundle name: models/bundles/NAME (default: a unique candidate name); never "
                                      "the served bundle or one kept for rollback")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="override params.yaml: --set C=1 --set heads.department.model.C=1 "
                                   "--set encoder.min_df=3"),
    ] = None,
    with_feedback: Annotated[
        bool, typer.Option("--with-feedback", help="add confirmed dispatcher decisions to the training rows "
                                                   "(one in five is held out for `minyi models compare`)")
    ] = False,
    database_url: Annotated[str | None, typer.Option(help="service database for --with-feedback (default: "
                                                          "MINYI_DATABASE_URL or the service's SQLite file)")] = None,
    no_track: Annotated[bool, typer.Option("--no-track", help="skip MLflow logging")] = False,
    quiet: QuietOption = False,
) -> None:
    """Fit the encoder and every head, tune the routing blend, evaluate each head on its held-out part, save
    one candidate bundle (models/bundles/NAME) and log it to MLflow. It is served only by
    `minyi models promote` (or when no bundle was ever served)."""
    from minyi_nlp.dispatch.build import train_bundle
    from minyi_nlp.params import load_params, with_overrides

    _quiet(quiet)
    try:
        params = with_overrides(load_params(), set_ or [])
    except ValueError as exc:
        _fail(str(exc))
    feedback = info = None
    if with_feedback:
        from minyi_nlp.feedback import feedback_info, feedback_rows

        feedback = feedback_rows(database_url)
        info = feedback_info(feedback)
        typer.echo(f"adding {info['rows']} confirmed decisions from the feedback store ({info['category_rows']} "
                   f"category rows, {info['department_rows']} department rows)", err=True)
    try:
        res = train_bundle(params, name=model_name, feedback=feedback, feedback_info=info, track=not no_track)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"bundle {res.manifest['version']} → {res.bundle_dir}"
               + ("  (now served: the first bundle)" if res.served else "  (a candidate: `minyi models compare "
                  f"{res.bundle_dir.name}`, then `minyi models promote {res.bundle_dir.name}`)"))
    for head, m in res.manifest["metrics"].items():
        if head == "routing":
            typer.echo(f"routing (held-out derived labels, n={m['n']}): "
                       + "  ".join(f"{k} top-1 {m[k]['top1']:.3f} top-3 {m[k]['top3']:.3f}"
                                   for k in ("duty_list", "model", "blend") if k in m)
                       + f"  (blend {m['blend_weight']:.2f}, T {m['temperature']:.2f})")
        elif head == "urgency_flag":
            how = m.get("scorer", "mixed") + (f" weight {m['weight']}" if m.get("weight") is not None else "")
            typer.echo(f"urgent flag (hand-labelled, n={m['n']}, {m['urgent']} urgent; {how}, "
                       f"threshold {m['threshold']:.4f}): out of fold recall {m['out_of_fold']['recall']}  "
                       f"precision {m['out_of_fold']['precision']}")
        elif head == "subcategory":
            typer.echo(f"subcategory (hand-labelled, n={m['n']}): "
                       + "  ".join(f"{lv} top-1 {m[k]['top1']:.3f} top-3 {m[k]['top3']:.3f}"
                                   for k, lv in (("l1", "一级"), ("l2", "二级"), ("l3", "三级")) if k in m))
        else:
            typer.echo(f"{head} (held-out, n={m['n']}): macro-F1 {m['macro_f1']:.4f}  accuracy {m['accuracy']:.4f}  "
                       f"top-2 {m['top2_accuracy']:.4f}  ECE {m['ece']:.4f}")
    typer.echo(f"trained in {res.metrics['train_seconds']}s")
    if res.tracking:
        typer.echo(f"MLflow run {res.tracking['run_id']}, model version {res.tracking['model_version']}")


class EvalTask(StrEnum):
    category = "category"
    department = "department"
    appeal_type = "appeal-type"
    urgency = "urgency"


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
    data: Annotated[Path | None, typer.Option(help="labelled file (default: the head's held-out part)")] = None,
    text_col: Annotated[str, typer.Option(help="column with the raw appeal text")] = "text",
    label_col: Annotated[str, typer.Option(help="column with the true label")] = "label",
    task: Annotated[EvalTask, typer.Option(help="category, department (the routing), appeal-type or urgency "
                                                "(the urgent flag on data/labels/urgency)")] = (
        EvalTask.category
    ),
    bundle: Annotated[Path | None, typer.Option(help="bundle folder (default: the served one)")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="text or json (one JSON line, last)")] = (
        OutputFormat.text
    ),
    out: Annotated[Path | None, typer.Option(help="also write the metrics JSON here")] = None,
    plots_dir: Annotated[Path | None, typer.Option(help="write confusion/reliability/F1 PNGs here")] = None,
    rejects: Annotated[Path | None, typer.Option(help="rejected rows (default: <data>.rejects.csv)")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding (default: UTF-8, GB18030 fallback)")] = None,
    quiet: QuietOption = False,
) -> None:
    """Evaluate the served bundle (or --bundle) on a labelled file of raw text, or on a head's held-out part."""
    from minyi_nlp import progress

    _quiet(quiet)
    with progress.stage("evaluate", total=3):
        _evaluate(data, text_col, label_col, task, bundle, fmt, out, plots_dir, rejects, encoding)


def _evaluate(data: Path | None, text_col: str, label_col: str, task: EvalTask, bundle: Path | None,
              fmt: OutputFormat, out: Path | None, plots_dir: Path | None, rejects: Path | None,
              encoding: str | None) -> None:
    from minyi_nlp import progress
    from minyi_nlp.data import DataError
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.dispatch.build import ensure_bundle
    from minyi_nlp.models.bundle import ModelIntegrityError, update_metrics
    from minyi_nlp.params import load_params

    try:
        with progress.step("load bundle"):
            dispatcher = Dispatcher.load(bundle or ensure_bundle())
    except (FileNotFoundError, ModelIntegrityError) as err:
        _fail(str(err))
    if task is EvalTask.department:
        from minyi_nlp.dispatch.evaluate import evaluate_department_file

        if data is not None and label_col == "label":
            label_col = "department"
        try:
            with progress.step("score the routing", units=2):
                metrics = evaluate_department_file(data, text_col=text_col, label_col=label_col, rejects=rejects,
                                                   dispatcher=dispatcher)
        except (DataError, ValueError) as err:
            _fail(str(err))
        typer.echo(json.dumps(metrics, ensure_ascii=False))
        return
    if task is EvalTask.urgency:
        _evaluate_urgency(dispatcher, data, out)
        return
    from minyi_nlp.models.evaluate import evaluate_file, evaluate_held_out, write_plots

    head = task.value.replace("-", "_")
    n_bins = load_params().evaluate.n_bins
    try:
        if data is None and head != "category":
            with progress.step(f"score head {head} on its held-out part"):
                metrics = evaluate_held_out(dispatcher.bundle, head, n_bins)
        else:
            if data is None:
                from minyi_nlp.config import get_settings
                from minyi_nlp.prepare import EVAL_CSV

                data = get_settings().processed_dir / EVAL_CSV
                if not data.exists():
                    from minyi_nlp.prepare import run_prepare

                    run_prepare(load_params().prepare)
            if not data.exists():
                _fail(f"{data}: no such file")
            rejects = rejects or data.with_name(data.stem + ".rejects.csv")
            with progress.step(f"score head {head} on {data.name}"):
                metrics = evaluate_file(dispatcher.bundle, data, head=head, text_col=text_col, label_col=label_col,
                                        n_bins=n_bins, rejects_path=rejects, encoding=encoding)
            metrics["data"] = str(data)
    except (DataError, ValueError) as err:
        _fail(str(err))
    metrics["model_version"] = dispatcher.bundle.version
    with progress.step("plots and report"):
        if plots_dir:
            write_plots(metrics, plots_dir, head=head)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    if bundle is None and dispatcher.bundle.path is not None:
        update_metrics(dispatcher.bundle.path, {f"{head}.evaluated": {k: metrics[k] for k in
                                                                       ("n", "macro_f1", "accuracy", "ece")}})
    _print_metrics(metrics, fmt)


def _evaluate_urgency(dispatcher: Any, data: Path | None, out: Path | None) -> None:
    """The served urgent flag on the hand-labelled urgency set (or ``data``: a labels.csv of that shape)."""
    from minyi_nlp.data import DataError
    from minyi_nlp.data.urgency_labels import read_urgency_labels
    from minyi_nlp.dispatch.urgency import evaluate_urgency

    try:
        metrics = evaluate_urgency(dispatcher.bundle, labels=read_urgency_labels(data))
    except (DataError, ValueError) as err:
        _fail(str(err))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(f"n={metrics['n']} urgent={metrics['urgent']} flagged={metrics['flagged']}  recall={metrics['recall']}"
               f"  precision={metrics['precision']}  (weight {metrics['weight']}, threshold "
               f"{metrics['threshold']:.4f}; threshold chosen on these labels, see reports/urgency_eval.json)")
    typer.echo(json.dumps(metrics, ensure_ascii=False))


def print_suggestion(s: dict) -> None:
    """The suggestion as the console shows it: categories and routes as tables, then the rest."""
    import shutil

    from rich import box
    from rich.console import Console
    from rich.table import Table

    width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160
    console = Console(width=width, highlight=False, soft_wrap=False)
    cats = Table("#", "category", "score", title="categories", title_justify="left", box=box.SIMPLE_HEAD)
    for i, c in enumerate(s["categories"][:3], 1):
        cats.add_row(str(i), c["label"], f"{c['score']:.3f}")
    routes = Table("#", "department", "jurisdiction", "level", "score", "reasons", title="routes",
                   title_justify="left", box=box.SIMPLE_HEAD)
    for i, d in enumerate(s["departments"], 1):
        routes.add_row(str(i), d["department"], d["jurisdiction"], d["level"], f"{d['score']:.3f}",
                       "; ".join(d["reasons"]))
    console.print(cats)
    console.print(routes)
    lines = [f"appeal type: {s['appeal_type']} ({s['appeal_type_score']})   place: {s['jurisdiction']} "
             f"({s['jurisdiction_level']})"]
    if s.get("subcategories"):
        lines.append("sub-categories: " + "; ".join(f"{c['path']} {c['score']:.3f}" for c in s["subcategories"][:3]))
    if s.get("urgency"):
        u = s["urgency"]
        lines.append(f"urgency: {u['score']:.3f}" + (f"  hazards: {'、'.join(u['hazards'])}" if u["hazards"] else ""))
    lines.append(f"due: {s['due_at']}   urgent: {s['urgent']}   needs review: {s['needs_review']}"
                 + (f" ({'; '.join(s['review_reasons'])})" if s["review_reasons"] else ""))
    if s["keywords"]:
        lines.append("because of: " + "、".join(s["keywords"]))
    for line in lines:
        console.print(line, markup=False)


def _served_bundle() -> Path:
    """The served bundle's folder; the training code (slow to import) is loaded only when none is served."""
    from minyi_nlp.models.bundle import ModelNotFoundError, read_manifest
    from minyi_nlp.models.registry import served_bundle_dir

    try:
        path = served_bundle_dir()
        read_manifest(path)
        return path
    except ModelNotFoundError:
        from minyi_nlp.dispatch.build import ensure_bundle

        return ensure_bundle()


@app.command()
def predict(
    text: Annotated[str | None, typer.Option(help="one appeal's raw text")] = None,
    title: Annotated[str | None, typer.Option(help="its title (optional)")] = None,
    data: Annotated[Path | None, typer.Option(help="a CSV/XLSX/JSONL/Parquet file of appeals")] = None,
    out: Annotated[Path | None, typer.Option(help="output file for --data (.csv, .jsonl or .parquet)")] = None,
    text_col: Annotated[str, typer.Option(help="content column in --data")] = "content",
    title_col: Annotated[str | None, typer.Option(help="title column in --data")] = None,
    id_col: Annotated[str | None, typer.Option(help="id column in --data")] = None,
    top_k: Annotated[int, typer.Option(help="categories and routes per row in --data output")] = 3,
    bundle: Annotated[Path | None, typer.Option(help="bundle folder (default: the served one)")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.text,
) -> None:
    """The service's suggestion for one text (--text), or for every row of a file (--data … --out …)."""
    from minyi_nlp.data.tasks import compose_text
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.models.bundle import ModelIntegrityError

    if (text is None) == (data is None):
        _fail("give exactly one of --text or --data")
    if text is not None:
        from minyi_nlp.config import get_settings
        from minyi_nlp.data.validate import check_content

        _, issue = check_content(compose_text(title, text), get_settings().max_content_chars)
        if issue is not None:
            _fail(f"--text: {issue[1]}")
    if data is not None and out is None:
        _fail("--data needs --out")
    try:
        dispatcher = Dispatcher.load(bundle or _served_bundle())
    except (FileNotFoundError, ModelIntegrityError) as err:
        _fail(str(err))
    if text is not None:
        s = dispatcher.suggest(title, text).as_dict()
        if fmt is OutputFormat.json:
            typer.echo(json.dumps(s, ensure_ascii=False))
        else:
            print_suggestion(s)
        return
    from minyi_nlp.data import DataError
    from minyi_nlp.predict_file import predict_file

    try:
        summary = predict_file(dispatcher, data, out, text_col=text_col, title_col=title_col,
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
    """Cross-validate the category head (with its encoder) over the raw-text folds: mean ± std macro-F1, ECE."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.dispatch.build import encoder_texts_of_other_heads
    from minyi_nlp.models.crossval import cross_validate
    from minyi_nlp.params import load_params, with_overrides
    from minyi_nlp.prepare import APPEALS_FILE, PreparedData, run_prepare

    try:
        params = with_overrides(load_params(), set_ or [])
    except ValueError as exc:
        _fail(str(exc))
    settings = get_settings()
    if not (settings.processed_dir / APPEALS_FILE).exists():
        run_prepare(params.prepare)
    prepared = PreparedData.read(settings.processed_dir)
    chosen = [int(f) for f in folds.split(",")] if folds else None
    report = cross_validate(prepared.appeals, params, chosen, prepared.copies,
                            encoder_texts=encoder_texts_of_other_heads(params))
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
        from minyi_nlp.models.tracking import log_cv_run

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
    from minyi_nlp.models.label_noise import run_label_noise

    report = run_label_noise(n_splits=folds, out_dir=out_dir, track=not no_track)
    s = report["experiment"]["summary"]
    base, cleaned = s["baseline"]["macro_f1"]["mean"], s["cleaned"]["macro_f1"]["mean"]
    typer.echo(f"flagged {report['n_flagged']} of {report['n_appeals']} appeals; macro-F1 baseline {base:.4f}, "
               f"without the flagged rows {cleaned:.4f} (see label_noise.md)")


def _when(value: str, option: str) -> Any:
    """A UTC datetime from ``2026-11-01``, ``2026-11-01T08:00``, ``30d`` (days ago) or ``now``."""
    from datetime import UTC, datetime, timedelta

    text = value.strip()
    now = datetime.now(UTC)
    if text == "now":
        return now
    if text.endswith("d") and text[:-1].isdigit():
        return now - timedelta(days=int(text[:-1]))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"{option} {value!r}: give a date (2026-11-01), a date and time, Nd (days ago) or now")
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command()
def monitor(
    since: Annotated[str, typer.Option(help="start: 2026-11-01, an ISO date-time, or 30d (days ago)")] = "30d",
    until: Annotated[str, typer.Option(help="end (exclusive), same forms")] = "now",
    out: Annotated[Path, typer.Option(help="report folder: monitor.json and monitor.png")] = Path("reports/monitor"),
    bundle: Annotated[str | None, typer.Option(help="bundle whose training reference the drift is measured "
                                                    "against (default: the served one)")] = None,
    database_url: Annotated[str | None, typer.Option(help="service database (default: MINYI_DATABASE_URL or the "
                                                          "service's SQLite file)")] = None,
    metrics_url: Annotated[str | None, typer.Option(help="a running service's /metrics, for its latency")] = None,
    drop_threshold: Annotated[float | None, typer.Option(help="flag a rank-1 acceptance drop larger than this "
                                                               "(default MINYI_MONITOR_DROP_THRESHOLD, 0.10)")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="text, or json (the last line)")] = OutputFormat.text,
) -> None:
    """How the served model fares against the dispatchers' decisions: acceptance, overrides, reliability, drift
    and latency from the stored suggestions and decisions, a sustained drop flagged (JSON + PNG report)."""
    from minyi_nlp.monitor import MonitorSettings, report_from_store, write_report

    start, end = _when(since, "--since"), _when(until, "--until")
    if start >= end:
        _fail(f"--since {since} is not before --until {until}")
    settings = MonitorSettings()
    if drop_threshold is not None:
        settings = settings.model_copy(update={"drop_threshold": drop_threshold})
    reference = _reference(bundle)
    metrics_text = None
    if metrics_url:
        import urllib.request

        with urllib.request.urlopen(metrics_url, timeout=30) as resp:  # noqa: S310 - an operator-given URL
            metrics_text = resp.read().decode("utf-8")
    report = report_from_store(start, end, database_url=database_url, reference=reference, settings=settings,
                               metrics_text=metrics_text)
    files = write_report(report, out)
    drop = report["sustained_drop"]
    summary = {"suggestions": report["suggestions"], "decisions": report["decisions"],
               "rank1_acceptance": report["rank1_acceptance"], "override_rate": report["override_rate"],
               "reliability_ece": report["reliability"].get("ece"), "drift": {k: report["drift"][k] for k in (
                   "category_score_psi", "route_score_psi", "category_mix_psi")},
               "sustained_drop": drop["flagged"], "files": [str(f) for f in files]}
    if fmt is OutputFormat.text:
        typer.echo(f"{report['suggestions']} suggestions, {report['decisions']} decisions "
                   f"({start:%Y-%m-%d} → {end:%Y-%m-%d}); rank-1 acceptance {report['rank1_acceptance']}, "
                   f"override rate {report['override_rate']}, reliability ECE {summary['reliability_ece']}")
        typer.echo("drift (PSI): " + ", ".join(f"{k} {v}" for k, v in summary["drift"].items()))
        if drop["flagged"]:
            run = drop["runs"][-1]
            typer.secho(f"SUSTAINED DROP: rolling rank-1 acceptance below {drop['limit']} (baseline {drop['baseline']} "
                        f"− {drop['threshold']}) from {run['from']} to {run['to']} ({run['days']} days)",
                        fg=typer.colors.RED)
        typer.echo("report: " + ", ".join(summary["files"]))
    typer.echo(json.dumps(summary, ensure_ascii=False))


def _reference(bundle: str | None) -> dict | None:
    """The training reference (``reference.json``) of ``bundle`` or of the served one, if any."""
    from minyi_nlp.models.bundle import ModelNotFoundError, read_manifest
    from minyi_nlp.models.registry import resolve_bundle, served_bundle_dir

    try:
        path = resolve_bundle(bundle) if bundle else served_bundle_dir()
        read_manifest(path)
    except (ModelNotFoundError, ValueError) as exc:
        logging.getLogger(__name__).warning("no training reference for drift: %s", exc)
        return None
    ref = path / "reference.json"
    return json.loads(ref.read_text(encoding="utf-8")) if ref.exists() else None


@app.command()
def bench(
    n: Annotated[int, typer.Option(help="single-appeal predictions to time")] = 500,
) -> None:
    """Time one-appeal prediction latency (model loaded) and batch throughput; print figures."""
    from minyi_nlp.bench import bench_predict

    typer.echo(json.dumps(bench_predict(n), ensure_ascii=False, indent=2))


if __name__ == "__main__":  # pragma: no cover
    app()
