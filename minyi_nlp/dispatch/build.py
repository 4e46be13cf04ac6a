"""``minyi train``: every head's data → one encoder + heads → routing blend → one saved, tracked bundle.

1. The data of each head (:mod:`minyi_nlp.data.tasks`), plus confirmed dispatcher decisions when asked.
2. :func:`minyi_nlp.models.training.train_heads`: the encoder on all training texts, each head on its
   training rows, each scored on its held-out rows.
3. The department head is fitted once more on its ``train`` rows alone, and the blend with the duty list
   (and its temperature) is tuned on the ``val`` rows; the shipped routing is then scored on the ``test``
   rows (duty list alone, head alone, blend; department type and route).
4. Saved as ``models/bundles/<name>`` with a manifest (SHA-256 per file), reports under ``reports/``,
   logged and registered in MLflow. The first bundle ever trained is served; later ones only by promotion.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from minyi_nlp.data.tasks import TaskData, load_task
from minyi_nlp.dispatch.dispatcher import ROUTING_EXTRA
from minyi_nlp.dispatch.evaluate import as_dicts, evaluate_rankings, headline, tune_blend, write_department_report
from minyi_nlp.models.training import FIT_SPLITS, Trained, fit_head, train_heads
from minyi_nlp.params import Params, load_params

log = logging.getLogger(__name__)

DEFAULT_NAME = "default"


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
        kwargs = {"processed_dir": processed_dir} if name == "category" else {}
        tasks[name] = load_task(name, params, **kwargs)
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


def tune_routing(trained: Trained, params: Params, lists: Any) -> dict[str, Any]:
    """Blend weight and temperature of the department head against the duty list, tuned on its ``val`` rows
    with a head fitted on its ``train`` rows only; then the shipped routing scored on the ``test`` rows."""
    bundle = trained.bundle
    enc = trained.encoded["department"]
    train, val, test = enc.part("train"), enc.part("val"), enc.part("test")
    category = bundle.head("category")
    first = fit_head(params.heads["department"], train, encoder=bundle.encoder)
    tuning = tune_blend(as_dicts(category.predict_proba(val.X), category.labels),
                        as_dicts(first.predict_proba(val.X), first.labels),
                        val.frame["label"].astype(str).tolist(), lists, grid=params.routing.blend_grid)
    log.info("routing blend %.2f, temperature %.2f (validation, n=%d)", tuning["blend"], tuning["temperature"],
             len(val.frame))
    head = bundle.head("department")
    metrics = evaluate_rankings(test.frame, as_dicts(category.predict_proba(test.X), category.labels),
                                as_dicts(head.predict_proba(test.X), head.labels), lists,
                                blend=tuning["blend"], temperature=tuning["temperature"])
    metrics["tuning"] = tuning
    return metrics


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """Headline figures per head for the manifest, the CLI and MLflow."""
    out: dict[str, Any] = {}
    for name, m in metrics.items():
        if name in ("encoder", "routing") or not isinstance(m, dict) or "macro_f1" not in m:
            continue
        out[name] = {k: round(m[k], 4) for k in ("macro_f1", "accuracy", "top2_accuracy", "ece")}
        out[name]["n"] = m["n"]
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
    for name, m in metrics.items():
        if name in ("encoder", "routing", "category", "department") or not isinstance(m, dict) \
                or "macro_f1" not in m:
            continue
        plots += write_head_report(name, m, reports_dir)
    if "routing" in metrics:
        plots += write_department_report(metrics["routing"], reports_dir)
    return plots


def train_bundle(
    params: Params | None = None,
    *,
    name: str = DEFAULT_NAME,
    processed_dir: Path | None = None,
    feedback: pd.DataFrame | None = None,
    reports_dir: Path | None = None,
    write_report_files: bool = True,
    track: bool = True,
    serve_if_none: bool = True,
) -> BuildResult:
    """Train, tune, save, report and track one bundle (see the module docstring)."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.models.registry import bundle_dir, read_served, set_served
    from minyi_nlp.routing import load_lists

    settings = get_settings()
    params = params or load_params()
    reports_dir = reports_dir or settings.reports_dir
    t0 = time.perf_counter()
    tasks = load_tasks(params, processed_dir=processed_dir, feedback=feedback)
    trained = train_heads(params, tasks)
    metrics = trained.metrics
    lists = load_lists()
    bundle = trained.bundle
    if "department" in tasks and "category" in tasks:
        metrics["routing"] = tune_routing(trained, params, lists)
        bundle.extras[ROUTING_EXTRA] = {k: metrics["routing"]["tuning"][k] for k in ("blend", "temperature")}
    bundle.extras["splits"] = {name_: {"test": task.part("test")["id"].astype(str).tolist()}
                               for name_, task in tasks.items()}
    metrics["train_seconds"] = round(time.perf_counter() - t0, 1)
    summary = _summary(metrics)
    out_dir = bundle_dir(name)
    manifest = bundle.save(out_dir, name=name, data_hashes=trained.data_hashes, params=params.model_dump(),
                           metrics=summary)
    log.info("bundle %s → %s (%.0fs)", manifest["version"], out_dir, metrics["train_seconds"])
    plots = write_reports(metrics, reports_dir) if write_report_files else []
    if write_report_files:
        (reports_dir / "bundle.json").write_text(json.dumps({"version": manifest["version"], **summary},
                                                            ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tracking = None
    if track:
        from minyi_nlp.models.tracking import flatten, log_training_run

        flat: dict[str, float] = {}
        flatten("", summary, flat)
        flat["train_seconds"] = metrics["train_seconds"]
        tracking = log_training_run(params=_flat_params(params), metrics=flat, plots=plots, model_dir=out_dir,
                                    tags={"minyi.version": manifest["version"], "minyi.bundle": name})
    served = False
    if serve_if_none and not read_served().get("bundle"):
        set_served(name, reason="first bundle trained")
        served = True
    return BuildResult(out_dir, manifest, metrics, tracking, served)


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
    log.warning("no bundle is served yet: training the default bundle now (a few minutes)")
    return train_bundle(track=False, write_report_files=False).bundle_dir


def encoder_texts_of_other_heads(params: Params, head: str = "category") -> list[str]:
    """The training texts of every head but ``head`` (the encoder reads them too in ``minyi train``)."""
    texts: list[str] = []
    for name in params.heads:
        if name != head:
            texts += load_task(name, params).part(*FIT_SPLITS)["text"].astype(str).tolist()
    return texts
