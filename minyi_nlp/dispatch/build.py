"""``minyi train``: every head's data → one encoder + heads → routing blend → one saved, tracked bundle.

1. The data of each head (:mod:`minyi_nlp.data.tasks`), plus confirmed dispatcher decisions when asked.
2. :func:`minyi_nlp.models.training.train_heads`: the encoder on all training texts, each head on its
   training rows, each scored on its held-out rows.
3. The department head is fitted once more on its ``train`` rows alone, and the blend with the duty list
   (and its temperature) is tuned on the ``val`` rows; the shipped routing is then scored on the ``test``
   rows (duty list alone, head alone, blend; department type and route). The duty list is read with the
   sub-category keys (:mod:`minyi_nlp.dispatch.subcategory`) when there is a sub-category head; the same
   tuning with the category head alone is reported next to it. The sub-category head is scored on the
   hand-labelled set (:func:`minyi_nlp.models.subcategory_eval.bundle_report`).
4. The urgency head's mix with the hazard lexicon (weight and flag threshold) is chosen on the
   hand-labelled urgency set and scored out of fold there (:func:`minyi_nlp.dispatch.urgency.tune_urgency`).
5. Saved as a candidate, ``models/bundles/<name>`` (default: a unique name, the bundle's version) with a
   manifest (SHA-256 per file), reports under ``reports/`` (``default``, the ``dvc repro`` bundle) or
   ``reports/candidates/<name>/`` (any other), logged and registered in MLflow. The first
   bundle ever trained is served; later ones only by promotion (``minyi models promote``), and training
   never writes into the served bundle or one kept for rollback.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from minyi_nlp.data.tasks import TaskData, held_out_pool_keys, load_task
from minyi_nlp.dispatch.dispatcher import ROUTING_EXTRA
from minyi_nlp.dispatch.evaluate import (
    as_dicts,
    evaluate_rankings,
    headline,
    rankings,
    read_audit,
    tune_blend,
    write_department_report,
)
from minyi_nlp.dispatch.subcategory import HEAD as SUBCATEGORY
from minyi_nlp.dispatch.subcategory import duty_inputs
from minyi_nlp.models.training import FIT_SPLITS, Trained, fit_head, train_heads
from minyi_nlp.params import Params, load_params

log = logging.getLogger(__name__)

@dataclass
class BuildResult:
    bundle_dir: Path
    manifest: dict[str, Any]
    metrics: dict[str, Any]
    tracking: dict[str, str] | None
    served: bool


def load_tasks(params: Params, *, processed_dir: Path | None = None,
               feedback: pd.DataFrame | None = None) -> dict[str, TaskData]:
    """The data of every head in ``params.heads``; ``feedback`` rows (``text`` and ``category`` and/or
    ``department``) are added to the training rows of the matching heads, each row its own group."""
    tasks = {}
    for name in params.heads:
        if name == SUBCATEGORY:  # last: it leaves out the department head's held-out appeals
            continue
        kwargs = {"processed_dir": processed_dir} if name == "category" else {}
        tasks[name] = load_task(name, params, **kwargs)
    if SUBCATEGORY in params.heads:
        tasks[SUBCATEGORY] = load_task(SUBCATEGORY, params, processed_dir=processed_dir,
                                       held_out=held_out_pool_keys(tasks.values()))
    if feedback is not None and len(feedback):
        for head, column in (("category", "category"), ("department", "department")):
            if head not in tasks or column not in feedback:
                continue
            rows = feedback[feedback[column].notna()]
            extra = pd.DataFrame({"id": [f"feedback:{i}" for i in range(len(rows))], "source": "feedback",
                                  "text": rows["text"].astype(str).to_numpy(),
                                  "label": rows[column].astype(str).to_numpy(), "split": "train"})
            extra["group"] = extra["id"]
            task = tasks[head]
            task.frame = pd.concat([task.frame, extra], ignore_index=True)
            task.report["feedback_rows"] = len(extra)
    return tasks


UNIT_NAMES = "departments"  # heads.<name>.keywords.file: the department types' names, from the lists


def keyword_sources() -> dict[str, list[tuple[str, str]]]:
    """Keyword rules that come from the lists rather than a file: ``departments``, every department type's
    names (``departments.yaml`` aliases and patterns), the units an appeal may name ("尊敬的A3区城管局")."""
    from minyi_nlp.routing.departments import unit_name_rules

    return {UNIT_NAMES: unit_name_rules()}


def tune_routing(trained: Trained, params: Params, lists: Any) -> dict[str, Any]:
    """Blend weight and temperature of the department head against the duty list, tuned on its ``val`` rows
    with a head fitted on its ``train`` rows only; then the shipped routing scored on the ``test`` rows."""
    bundle = trained.bundle
    enc = trained.encoded["department"]
    train, val, test = enc.part("train"), enc.part("val"), enc.part("test")
    category = bundle.head("category")
    threshold = params.routing.subcategory_threshold
    head = bundle.head("department")
    first = fit_head(params.heads["department"], train, rules=head.rules, encoder=bundle.encoder)
    val_y = val.frame["label"].astype(str).tolist()
    val_model = as_dicts(first.predict_proba(val.X, val.prepared), first.labels)
    test_model = as_dicts(head.predict_proba(test.X, test.prepared), head.labels)

    def duty(rows: Any) -> list[dict[str, float]]:
        return duty_inputs(bundle, rows.X, category.predict_proba(rows.X), category.labels, threshold)

    tuning = tune_blend(duty(val), val_model, val_y, lists, grid=params.routing.blend_grid)
    log.info("routing blend %.2f, temperature %.2f (validation, n=%d)", tuning["blend"], tuning["temperature"],
             len(val.frame))
    test_duty = duty(test)
    metrics = evaluate_rankings(test.frame, test_duty, test_model, lists, blend=tuning["blend"],
                                temperature=tuning["temperature"], audit=read_audit(lists))
    metrics["tuning"] = {**tuning, "subcategory_threshold": threshold}
    if SUBCATEGORY in bundle.heads:  # the same, with the duty list read through the category head alone
        cats_val = as_dicts(category.predict_proba(val.X), category.labels)
        cats_test = as_dicts(category.predict_proba(test.X), category.labels)
        alone = tune_blend(cats_val, val_model, val_y, lists, grid=params.routing.blend_grid)
        before = evaluate_rankings(test.frame, cats_test, test_model, lists, blend=alone["blend"],
                                   temperature=alone["temperature"])
        metrics["without_subcategories"] = {
            "blend": alone["blend"], "temperature": alone["temperature"],
            **{m: {"top1": round(v["top1"], 4), "top3": round(v["top3"], 4)} for m, v in before["methods"].items()}}
    blended = rankings(test_duty, test_model, lists, blend=tuning["blend"], temperature=tuning["temperature"])["blend"]
    metrics["top_scores"] = [r[0].score if r else 0.0 for r in blended]  # for the bundle's reference.json
    return metrics


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """Headline figures per head for the manifest, the CLI and MLflow."""
    out: dict[str, Any] = {}
    if isinstance(metrics.get(SUBCATEGORY), dict) and "head" in metrics[SUBCATEGORY]:
        levels = metrics[SUBCATEGORY]["head"]["all"]
        out[SUBCATEGORY] = {f"l{k}": {"top1": levels[f"l{k}"]["top1"], "top3": levels[f"l{k}"]["top3"]}
                            for k in (1, 2, 3)}
        out[SUBCATEGORY]["n"] = levels["appeals"]
    for name, m in metrics.items():
        if name in ("encoder", "routing") or not isinstance(m, dict) or "macro_f1" not in m:
            continue
        out[name] = {k: round(m[k], 4) for k in ("macro_f1", "accuracy", "top2_accuracy", "ece")}
        out[name]["n"] = m["n"]
    if "urgency_flag" in metrics:
        u = metrics["urgency_flag"]
        out["urgency_flag"] = {"n": u["n"], "urgent": u["urgent"], "scorer": u["shipped"]["scorer"],
                               "weight": u["shipped"].get("weight"),
                               "threshold": u["shipped"]["threshold"],
                               "out_of_fold": {k: u["out_of_fold"][k] for k in ("recall", "precision")},
                               "meets_target": u["meets_target"]}
    if "routing" in metrics:
        r = metrics["routing"]
        out["routing"] = {**headline(r), "blend_weight": r["tuning"]["blend"],
                          "temperature": r["tuning"]["temperature"]}
        for method, m in r["methods"].items():
            out["routing"][method] = {"top1": round(m["top1"], 4), "top3": round(m["top3"], 4)}
    return out


def write_reports(metrics: dict[str, Any], reports_dir: Path) -> list[Path]:
    """``department_eval.json`` for the routing, ``<head>_eval.json`` for the other heads, and their plots.
    The category head's report and plots come from ``minyi evaluate`` (the ``evaluate`` stage)."""
    from minyi_nlp.models.evaluate import write_head_report

    reports_dir.mkdir(parents=True, exist_ok=True)
    plots: list[Path] = []
    if isinstance(metrics.get(SUBCATEGORY), dict) and "head" in metrics[SUBCATEGORY]:
        from minyi_nlp.models.subcategory_eval import write_bundle_report

        write_bundle_report(metrics[SUBCATEGORY], reports_dir)
    for name, m in metrics.items():
        if name in ("encoder", "routing", "category", "department", "urgency") or not isinstance(m, dict) \
                or "macro_f1" not in m:
            continue
        plots += write_head_report(name, m, reports_dir)
    if "urgency_flag" in metrics:
        write_urgency_report(metrics, reports_dir)
    if "routing" in metrics:
        plots += write_department_report(metrics["routing"], reports_dir)
    return plots


def write_urgency_report(metrics: dict[str, Any], reports_dir: Path) -> Path:
    """``reports/urgency_eval.json``: the flag on the hand-labelled set, and the head on its weak held-out rows."""
    weak = {k: v for k, v in metrics.get("urgency", {}).items() if k not in ("reliability", "confusion_matrix")}
    path = reports_dir / "urgency_eval.json"
    path.write_text(json.dumps({"hand_labelled": metrics["urgency_flag"], "weak_labels_held_out": weak},
                               ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def reference(trained: Trained, route_scores: list[float] | None) -> dict[str, Any]:
    """What monitoring compares the served scores with (``reference.json`` of the bundle): on the category
    head's held-out rows, the top category's score and the predicted category of each row, the top route's
    score (when the routing was tuned), and the training labels' mix."""
    out: dict[str, Any] = {"data": "held-out rows of the category head"}
    enc = trained.encoded.get("category")
    if route_scores is not None:
        out["route_score"] = [round(float(v), 4) for v in route_scores]
    if enc is None:
        return out
    test = enc.part("test")
    fit = enc.part(*FIT_SPLITS)
    head = trained.bundle.head("category")
    if len(test.frame):
        proba = head.predict_proba(test.X, test.prepared)
        top = proba.argmax(axis=1)
        out["n"] = int(len(top))
        out["category_score"] = [round(float(v), 4) for v in proba.max(axis=1)]
        predicted = pd.Series([head.labels[j] for j in top]).value_counts(normalize=True)
        out["category_mix"] = {str(k): round(float(v), 4) for k, v in predicted.items()}
    labels = fit.frame["label"].astype(str).value_counts(normalize=True)
    out["label_mix"] = {str(k): round(float(v), 4) for k, v in labels.items()}
    return out


def train_bundle(
    params: Params | None = None,
    *,
    name: str | None = None,
    processed_dir: Path | None = None,
    feedback: pd.DataFrame | None = None,
    feedback_info: dict[str, Any] | None = None,
    reports_dir: Path | None = None,
    write_report_files: bool = True,
    track: bool = True,
    serve_if_none: bool = True,
) -> BuildResult:
    """Train, tune, save, report and track one bundle (see the module docstring).

    ``name`` None saves a candidate under a unique name (its version, ``candidate-<UTC time>-<data hash>``);
    a given name may not be the served bundle or one kept for rollback. ``feedback_info`` (what
    :func:`minyi_nlp.feedback.feedback_info` says of the ``feedback`` rows) goes into the manifest.
    """
    import minyi_nlp.progress as progress
    from minyi_nlp.models.bundle import combined_data_hash, new_version
    from minyi_nlp.models.registry import bundle_dir, check_trainable, read_served
    from minyi_nlp.routing import load_lists

    params = params or load_params()
    if name is not None:
        check_trainable(name)
    t0 = time.perf_counter()
    with progress.stage("train", total=len(params.heads) * 2 + 6):
        with progress.step("load data of " + ", ".join(params.heads)):
            tasks = load_tasks(params, processed_dir=processed_dir, feedback=feedback)
        trained = train_heads(params, tasks, keyword_sources=keyword_sources())
        metrics = trained.metrics
        lists = load_lists()
        bundle = trained.bundle
        if SUBCATEGORY in bundle.heads and "category" in bundle.heads:
            from minyi_nlp.models.subcategory_eval import bundle_report

            with progress.step("score the sub-category head on the hand-labelled set"):
                metrics[SUBCATEGORY].update(bundle_report(bundle))
        bundle.extras[ROUTING_EXTRA] = {"subcategory_threshold": params.routing.subcategory_threshold}
        with progress.step("tune routing blend"):
            if "department" in tasks and "category" in tasks:
                metrics["routing"] = tune_routing(trained, params, lists)
                bundle.extras[ROUTING_EXTRA].update(
                    {k: metrics["routing"]["tuning"][k] for k in ("blend", "temperature")})
        if "urgency" in tasks and params.heads["urgency"].hazards is not None:
            from minyi_nlp.dispatch.urgency import URGENCY_EXTRA, tune_urgency

            with progress.step("tune the urgent flag"):
                urgency, stack, stack_report = params.heads["urgency"], None, None
                if urgency.hazards.stack is not None:  # the second stage, fitted on the head's training rows
                    from minyi_nlp.dispatch.urgency_stack import fit_stacker
                    from minyi_nlp.routing.hazards import load_hazards

                    stack, stack_report = fit_stacker(urgency, urgency.hazards.stack, trained.encoded["urgency"],
                                                      bundle.encoder, load_hazards())
                bundle.extras[URGENCY_EXTRA], metrics["urgency_flag"] = tune_urgency(
                    bundle, urgency.hazards, stack=stack)
                if stack_report is not None:
                    metrics["urgency_flag"]["stack_fit"] = stack_report
        bundle.extras["splits"] = {name_: {"test": task.part("test")["id"].astype(str).tolist()}
                                   for name_, task in tasks.items()}
        route_scores = metrics["routing"].pop("top_scores") if "routing" in metrics else None
        bundle.extras["reference"] = reference(trained, route_scores)
        metrics["train_seconds"] = round(time.perf_counter() - t0, 1)
        summary = _summary(metrics)
        base = name or "candidate"
        version = first = new_version(base, combined_data_hash(trained.data_hashes))
        while name is None and bundle_dir(version).exists():  # two candidates within a second
            version = f"{first}-{len(list(bundle_dir(version).parent.glob(first + '*'))) + 1}"
        out_dir = check_trainable(name or version)
        reports_dir = reports_dir or candidate_reports_dir(name or version)
        info = {"feedback": feedback_info} if feedback_info else {}
        with progress.step("save bundle"):
            manifest = bundle.save(out_dir, name=base, data_hashes=trained.data_hashes, params=params.model_dump(),
                                   metrics=summary, version=version, info=info)
        log.info("bundle %s → %s (%.0fs)", manifest["version"], out_dir, metrics["train_seconds"])
        with progress.step("write reports"):
            plots = write_reports(metrics, reports_dir) if write_report_files else []
            if write_report_files:
                (reports_dir / "bundle.json").write_text(json.dumps({"version": manifest["version"], **summary},
                                                                    ensure_ascii=False, indent=2) + "\n",
                                                         encoding="utf-8")
        tracking = None
        with progress.step("log to MLflow" if track else "no MLflow"):
            if track:
                tracking = _track(params, summary, metrics, plots, out_dir, manifest)
        served = False
        if serve_if_none and not read_served().get("bundle"):
            serve_first(out_dir.name, tracking)
            served = True
    return BuildResult(out_dir, manifest, metrics, tracking, served)


PIPELINE_NAME = "default"  # the bundle of `dvc repro`, whose reports are the tracked ones under reports/


def candidate_reports_dir(name: str) -> Path:
    """``reports/`` for the pipeline's bundle; ``reports/candidates/<name>/`` (not tracked) for any other
    candidate, so that a trial run never overwrites the reports of the pipeline."""
    from minyi_nlp.config import get_settings

    root = get_settings().reports_dir
    return root if name == PIPELINE_NAME else root / "candidates" / name


def _track(params: Params, summary: dict[str, Any], metrics: dict[str, Any], plots: list[Path], out_dir: Path,
           manifest: dict[str, Any]) -> dict[str, str]:
    """Log the run, register the bundle in MLflow and note the model version in the manifest."""
    from minyi_nlp.models.bundle import update_manifest
    from minyi_nlp.models.tracking import flatten, log_training_run

    flat: dict[str, float] = {}
    flatten("", summary, flat)
    flat["train_seconds"] = metrics["train_seconds"]
    tags = {"minyi.version": manifest["version"], "minyi.bundle": out_dir.name}
    if manifest.get("feedback"):
        tags["minyi.feedback_rows"] = str(manifest["feedback"]["rows"])
    tracking = log_training_run(params=_flat_params(params), metrics=flat, plots=plots, model_dir=out_dir, tags=tags)
    update_manifest(out_dir, {"mlflow": tracking})
    return tracking


def serve_first(name: str, tracking: dict[str, str] | None) -> None:
    """The first bundle ever trained is served (nothing to compare it with), and is the MLflow champion."""
    from minyi_nlp.models.registry import set_served

    set_served(name, reason="first bundle trained", verdict=None, forced=False)
    log.info("no bundle was served: serving %s", name)
    if tracking:
        from minyi_nlp.models.tracking import set_alias

        set_alias(tracking["model_version"], tags={"minyi.promotion": "first bundle trained"})


def _flat_params(params: Params) -> dict[str, Any]:
    out: dict[str, Any] = {f"encoder.{k}": v for k, v in params.encoder.model_dump().items()}
    for name, section in params.heads.items():
        out.update({f"{name}.{k}": v for k, v in section.model.model_dump().items()})
        if section.keywords is not None:
            out[f"{name}.keyword_weight"] = section.keywords.weight
    out.update({f"prepare.{k}": v for k, v in params.prepare.model_dump().items()})
    return out


def ensure_bundle() -> Path:
    """The served bundle's folder, training and serving a default bundle first when none is served."""
    from minyi_nlp.models.bundle import ModelNotFoundError, read_manifest
    from minyi_nlp.models.registry import served_bundle_dir, served_name

    try:
        path = served_bundle_dir()
        read_manifest(path)
        return path
    except ModelNotFoundError:
        if served_name():
            raise
    log.warning("no bundle is served yet: training the first bundle now (a few minutes); it is served")
    return train_bundle(write_report_files=False).bundle_dir


def encoder_texts_of_other_heads(params: Params, head: str = "category") -> list[str]:
    """The training texts of every head but ``head`` (the encoder reads them too in ``minyi train``)."""
    texts: list[str] = []
    for name in params.heads:
        if name != head and params.heads[name].encoder_corpus:
            texts += load_task(name, params).part(*FIT_SPLITS)["text"].astype(str).tolist()
    return texts
