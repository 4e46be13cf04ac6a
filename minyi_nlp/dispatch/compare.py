"""``minyi models compare``: a candidate bundle against the champion on the same data, with a verdict.

Three kinds of evidence, each scored for both bundles on the very same rows:

1. **held out**: every head's held-out part (the test ids each bundle recorded in ``splits.json``; only ids
   held out by *both* are used). Category: macro-F1, accuracy, ECE. Department: top-1 / top-3 of the served
   routing (the head blended with the duty list, as the dispatcher ranks). Appeal type and any further
   head: macro-F1, accuracy, ECE.
2. **decisions**: dispatcher decisions since the champion was trained and never trained on by either bundle
   (the caller filters them): top-1 / top-3 of the decided department in each bundle's ranked routes, and
   the route (department at the decided place) at rank 1.
3. **folds** (optional): the category head refitted on every raw-text fold with each bundle's own params
   (:mod:`minyi_nlp.models.crossval`), out-of-fold predictions pooled over the folds.

Every delta is candidate − champion with a paired bootstrap 95 % interval (:mod:`minyi_nlp.models.bootstrap`).
The verdict rule is in :data:`RULE`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import minyi_nlp.progress as progress
from minyi_nlp.models.bootstrap import (
    Classified,
    compare_classified,
    compare_ranks,
    macro_f1,
    outcome,
    paired,
    verdict,
)
from minyi_nlp.models.bundle import Bundle
from minyi_nlp.params import Params

log = logging.getLogger(__name__)

DEFAULT_TOLERANCE = 0.005
RULE = (
    "Each delta is candidate − champion on the same rows, with a paired bootstrap 95 % interval. A gated metric "
    "is 'better' when its whole interval is on the better side of zero, 'worse' when its whole interval is on "
    "the worse side and the drop is larger than the tolerance ({tol}). Verdict: 'worse' if any gated metric is "
    "worse; else 'better' if at least one is better; else 'no worse'. Gated: category macro-F1 and ECE, "
    "department top-1 and top-3, the macro-F1 of every other head (held out), department top-1 and top-3 on "
    "decisions, category macro-F1 and ECE over the folds."
)


@dataclass
class Side:
    """A bundle under comparison: the loaded bundle and its training parameters."""

    bundle: Bundle
    params: Params | None

    @property
    def manifest(self) -> dict[str, Any]:
        return self.bundle.manifest

    def describe(self) -> dict[str, Any]:
        m = self.manifest
        return {"name": self.bundle.path.name if self.bundle.path else m.get("name"), "version": m.get("version"),
                "created_at": m.get("created_at"), "path": str(self.bundle.path) if self.bundle.path else None,
                "feedback_rows": (m.get("feedback") or {}).get("rows", 0)}


def side(bundle: Bundle) -> Side:
    """The bundle with its params (None when the manifest's params no longer validate)."""
    try:
        params = Params.model_validate(bundle.manifest.get("params") or {})
    except ValueError as exc:
        log.warning("bundle %s: its params do not validate against this code (%s): folds cannot be refitted",
                    bundle.version, str(exc).splitlines()[0])
        params = None
    return Side(bundle, params)


# --------------------------------------------------------------------------- held-out parts


def held_out_frame(head: str, a: Bundle, b: Bundle, params: Params, processed_dir: Path | None) -> pd.DataFrame:
    """The rows of ``head`` held out by both bundles (``id``, ``text``, ``label`` …)."""
    from minyi_nlp.data.tasks import load_task

    ids = [set(x.extras.get("splits", {}).get(head, {}).get("test", [])) for x in (a, b)]
    common = ids[0] & ids[1]
    if not common:
        return pd.DataFrame(columns=["id", "text", "label"])
    kwargs = {"processed_dir": processed_dir} if head == "category" and processed_dir else {}
    frame = load_task(head, params, **kwargs).frame
    return frame[frame["id"].astype(str).isin(common)].reset_index(drop=True)


def classified(bundle: Bundle, head: str, texts: list[str], y: list[str], labels: list[str]) -> Classified:
    X, prepared = bundle.encode(texts)
    return Classified.from_proba(y, bundle.predict_proba(head, X, prepared), bundle.head(head).labels, labels)


def department_ranks(bundle: Bundle, texts: list[str], y: list[str], lists: Any) -> np.ndarray:
    """Rank of the true department type in the routing each bundle serves (head + duty list blend)."""
    from minyi_nlp.dispatch.dispatcher import ROUTING_EXTRA, Routing
    from minyi_nlp.dispatch.evaluate import as_dicts, rankings

    X, prepared = bundle.encode(texts)
    cats = as_dicts(bundle.predict_proba("category", X), bundle.head("category").labels)
    deps = as_dicts(bundle.predict_proba("department", X, prepared), bundle.head("department").labels) \
        if "department" in bundle.heads else None
    routing = Routing.from_extra(bundle.extras.get(ROUTING_EXTRA))
    ranked = rankings(cats, deps, lists, blend=routing.blend, temperature=routing.temperature)
    best = ranked["blend"] if deps is not None else ranked["duty_list"]
    ranks = []
    for r, label in zip(best, y, strict=True):
        names = [d.department for d in r]
        ranks.append(names.index(label) + 1 if label in names else np.inf)
    return np.asarray(ranks, float)


def compare_held_out(cand: Side, champ: Side, params: Params, lists: Any, *, processed_dir: Path | None,
                     replicates: int, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(deltas per head, data description per head) on the held-out parts."""
    deltas: dict[str, Any] = {}
    data: dict[str, Any] = {}
    heads = [h for h in cand.bundle.heads if h in champ.bundle.heads]
    for head in heads:
        with progress.step(f"held-out {head}"):
            frame = held_out_frame(head, cand.bundle, champ.bundle, params, processed_dir)
            if frame.empty:
                data[head] = {"n": 0, "note": "no rows held out by both bundles"}
                continue
            texts, y = frame["text"].astype(str).tolist(), frame["label"].astype(str).tolist()
            data[head] = {"n": len(frame), "data": f"held-out part of head {head} (ids held out by both bundles)"}
            if head == "department":
                deltas[head] = compare_ranks(department_ranks(cand.bundle, texts, y, lists),
                                             department_ranks(champ.bundle, texts, y, lists),
                                             replicates=replicates, seed=seed)
                continue
            labels = sorted(set(y) | set(cand.bundle.head(head).labels) | set(champ.bundle.head(head).labels))
            gated = ("macro_f1", "ece") if head == "category" else ("macro_f1",)
            deltas[head] = compare_classified(classified(cand.bundle, head, texts, y, labels),
                                              classified(champ.bundle, head, texts, y, labels),
                                              gated=gated, replicates=replicates, seed=seed)
    return deltas, data


# --------------------------------------------------------------------------- decisions


def decision_ranks(bundle: Bundle, frame: pd.DataFrame, lists: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rank of the decided department, and whether the decided route (department at the decided place) is
    the first route, in the suggestions this bundle makes for the decided appeals."""
    from minyi_nlp.dispatch.dispatcher import Dispatcher

    dispatcher = Dispatcher(bundle, lists=lists)
    pairs = list(zip(frame["title"].where(frame["title"].notna(), None), frame["content"].astype(str), strict=True))
    ranks, route1 = [], []
    for s, (dept, place) in zip(dispatcher.suggest_many(pairs, explain=False),
                                zip(frame["department"], frame["jurisdiction"], strict=True), strict=True):
        names = [d.department for d in s.departments]
        ranks.append(names.index(dept) + 1 if dept in names else np.inf)
        first = s.departments[0] if s.departments else None
        route1.append(first is not None and first.department == dept and (not place or first.jurisdiction == place))
    return np.asarray(ranks, float), np.asarray(route1, bool)


def compare_decisions(cand: Side, champ: Side, frame: pd.DataFrame, lists: Any, *, replicates: int,
                      seed: int) -> dict[str, Any]:
    """Deltas of department top-1 / top-3 (gated) and route top-1 on the decided appeals."""
    with progress.step(f"decisions ({len(frame)})"):
        a_rank, a_route = decision_ranks(cand.bundle, frame, lists)
        b_rank, b_route = decision_ranks(champ.bundle, frame, lists)
    out = compare_ranks(a_rank, b_rank, replicates=replicates, seed=seed)
    out["route_top1"] = {**paired(lambda i: float(a_route[i].mean()), lambda i: float(b_route[i].mean()),
                                  len(frame), replicates=replicates, seed=seed), "gated": False}
    return {"department": out}


# --------------------------------------------------------------------------- folds


def fold_cache_key(params: Params, appeals: pd.DataFrame, extra: pd.DataFrame | None) -> str:
    """What the out-of-fold predictions of the category head depend on."""
    relevant = {"prepare": params.prepare.model_dump(), "encoder": params.encoder.model_dump(),
                "category": params.heads["category"].model_dump(),
                "other_heads": {k: v.model_dump() for k, v in params.heads.items() if k != "category"}}
    h = hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode("utf-8"))
    h.update(pd.util.hash_pandas_object(appeals[["text", "label", "fold"]], index=False).values.tobytes())
    if extra is not None and len(extra):
        h.update(pd.util.hash_pandas_object(extra[["text", "label"]], index=False).values.tobytes())
    return h.hexdigest()[:20]


def out_of_fold(params: Params, appeals: pd.DataFrame, copies: pd.DataFrame, extra: pd.DataFrame | None,
                cache_dir: Path | None, who: str) -> tuple[np.ndarray, list[str]]:
    """Category probabilities of every appeal from a model fitted outside its fold (cached on disk)."""
    from minyi_nlp.dispatch.build import encoder_texts_of_other_heads
    from minyi_nlp.models.crossval import fit_outside_fold

    key = fold_cache_key(params, appeals, extra)
    path = cache_dir / f"{key}.npz" if cache_dir else None
    if path is not None and path.exists():
        cached = np.load(path, allow_pickle=False)
        with progress.step(f"{who}: {params.prepare.n_folds} folds (cached {path.name})", units=params.prepare.n_folds):
            return cached["proba"], [str(c) for c in cached["classes"]]
    encoder_texts = encoder_texts_of_other_heads(params)
    proba: np.ndarray | None = None
    classes: list[str] = []
    for k in range(params.prepare.n_folds):
        with progress.step(f"{who}: refit outside fold {k}"):
            clf, _ = fit_outside_fold(appeals, params, k, copies, extra=extra, encoder_texts=encoder_texts)
            mask = (appeals["fold"] == k).to_numpy()
            p = clf.predict_proba(appeals.loc[mask, "text"].astype(str).tolist())
            fold_classes = [str(c) for c in clf.classes_]
            if proba is None:
                classes = fold_classes
                proba = np.zeros((len(appeals), len(classes)))
            cols = [fold_classes.index(c) if c in fold_classes else None for c in classes]
            proba[mask] = np.column_stack([p[:, j] if j is not None else np.zeros(mask.sum()) for j in cols])
    assert proba is not None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, proba=proba, classes=np.asarray(classes))
    return proba, classes


def compare_folds(cand: Side, champ: Side, *, processed_dir: Path | None, extra: Mapping[str, pd.DataFrame | None],
                  cache_dir: Path | None, replicates: int, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deltas of the category head over the pooled out-of-fold predictions, each side with its own params."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.prepare import APPEALS_FILE, PreparedData, run_prepare

    if cand.params is None or champ.params is None:
        raise ValueError("--folds needs both bundles' params to validate against this code")
    if cand.params.prepare != champ.params.prepare:
        raise ValueError("--folds: the two bundles were prepared with different prepare params (folds differ)")
    processed_dir = processed_dir or get_settings().processed_dir
    if not (processed_dir / APPEALS_FILE).exists():
        run_prepare(cand.params.prepare, processed_dir)
    prepared = PreparedData.read(processed_dir)
    appeals = prepared.appeals.reset_index(drop=True)
    y = appeals["label"].astype(str).tolist()
    results = {}
    for who, s in (("candidate", cand), ("champion", champ)):
        assert s.params is not None
        results[who] = out_of_fold(s.params, appeals, prepared.copies, extra.get(who), cache_dir, who)
    # only appeals in an evaluation fold have out-of-fold predictions (the others are never scored by cv)
    scored = appeals["fold"].isin(range(cand.params.prepare.n_folds)).to_numpy()
    y = [label for label, keep in zip(y, scored, strict=True) if keep]
    labels = sorted(set(y) | set(results["candidate"][1]) | set(results["champion"][1]))
    a = Classified.from_proba(y, results["candidate"][0][scored], results["candidate"][1], labels)
    b = Classified.from_proba(y, results["champion"][0][scored], results["champion"][1], labels)
    deltas = {"category": compare_classified(a, b, gated=("macro_f1", "ece"), replicates=replicates, seed=seed)}
    per_fold = {}
    folds = appeals["fold"].to_numpy()[scored]
    for who, c in (("candidate", a), ("champion", b)):
        present = np.bincount(c.y, minlength=c.n_labels) > 0
        per_fold[who] = [round(macro_f1(c.y[folds == k], c.pred[folds == k], c.n_labels, present), 4)
                         for k in sorted(set(folds.tolist()))]
    return deltas, {"category": {"n": int(scored.sum()), "folds": int(len(set(folds.tolist()))),
                                 "macro_f1_per_fold": per_fold,
                                 "data": "every appeal, predicted by a model fitted outside its fold"}}


# --------------------------------------------------------------------------- the comparison


def compare(
    candidate: Bundle,
    champion: Bundle,
    *,
    decisions: pd.DataFrame | None = None,
    decisions_note: Mapping[str, Any] | None = None,
    folds: bool = False,
    fold_extra: Mapping[str, pd.DataFrame | None] | None = None,
    processed_dir: Path | None = None,
    cache_dir: Path | None = None,
    replicates: int = 2000,
    seed: int = 0,
    tolerance: float = DEFAULT_TOLERANCE,
) -> dict[str, Any]:
    """The comparison report: ``candidate``, ``champion``, ``data``, ``deltas``, ``outcomes``, ``verdict``,
    ``rule`` (see the module docstring)."""
    from minyi_nlp.params import load_params
    from minyi_nlp.routing import load_lists

    cand, champ = side(candidate), side(champion)
    params = cand.params or load_params()
    lists = load_lists()
    n_heads = len([h for h in candidate.heads if h in champion.heads])
    total = n_heads + (1 if decisions is not None and len(decisions) else 0)
    if folds:
        total += 2 * params.prepare.n_folds
    with progress.stage("compare", total=total):
        deltas: dict[str, Any] = {}
        data: dict[str, Any] = {}
        deltas["held_out"], data["held_out"] = compare_held_out(cand, champ, params, lists, processed_dir=processed_dir,
                                                                replicates=replicates, seed=seed)
        data["decisions"] = {"n": 0 if decisions is None else len(decisions), **(decisions_note or {})}
        if decisions is not None and len(decisions):
            deltas["decisions"] = compare_decisions(cand, champ, decisions, lists, replicates=replicates, seed=seed)
        if folds:
            deltas["folds"], data["folds"] = compare_folds(cand, champ, processed_dir=processed_dir,
                                                           extra=fold_extra or {}, cache_dir=cache_dir,
                                                           replicates=replicates, seed=seed)
    outcomes = {}
    for source, tasks in deltas.items():
        for task, metrics in tasks.items():
            for metric, d in metrics.items():
                d["outcome"] = outcome(d, tolerance)
                if d["gated"]:
                    outcomes[f"{source}.{task}.{metric}"] = d["outcome"]
    return {"candidate": cand.describe(), "champion": champ.describe(), "data": data, "deltas": deltas,
            "outcomes": outcomes, "verdict": verdict(list(outcomes.values())), "tolerance": tolerance,
            "replicates": replicates, "rule": RULE.format(tol=tolerance)}
