"""Evaluate department routing: top-1 / top-3 of the duty list, the department model and their blend.

Labels are department *types* derived from replies / agency names (:mod:`minyi_nlp.routing.departments`),
so every figure here is measured against noisy labels: a hand audit of the 281 test labels
(``data/labels/departments/``) found 0.901 of the judged ones right (Teddy Cup 附件4 0.881, Shangluo 42 of 42), and
:func:`audited_metrics` scores every method on the audited labels as well. Generic offices (信息办, 区县人民政府 …)
are not scored.

``minyi evaluate --task department`` calls :func:`evaluate_department_file`; training
(:mod:`minyi_nlp.dispatch.build`) calls :func:`tune_blend` and :func:`evaluate_rankings` on the department
head's validation and test parts.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from minyi_nlp.dispatch.ranking import RankedDepartment, rank_departments
from minyi_nlp.routing.jurisdiction import place_at_level

log = logging.getLogger(__name__)

METHODS = ("duty_list", "model", "blend")
LABEL_NOTE = (
    "Labels are derived from the official replies, not annotated; generic offices (信息办, 区县/市人民政府, "
    "党委 …) are excluded. A model looks worse than it is where a label is wrong: the `audit` section says how "
    "often the test labels are right (a hand audit, data/labels/departments/) and scores every method on the "
    "audited labels."
)
SOURCE_CITY = {"shangluo": "商洛市"}  # default city per source for route-level scoring (else the gazetteer's)
_EPS = 1e-4


# --------------------------------------------------------------------------- scoring helpers


def as_dicts(proba: np.ndarray, labels: Sequence[str]) -> list[dict[str, float]]:
    """One ``{label: probability}`` per row of ``proba``."""
    return [dict(zip(labels, row.tolist(), strict=True)) for row in np.asarray(proba)]


def rankings(
    cat_probs: Sequence[Mapping[str, float]],
    model_scores: Sequence[Mapping[str, float]] | None,
    lists: Any,
    *,
    blend: float,
    temperature: float = 1.0,
) -> dict[str, list[list[RankedDepartment]]]:
    """Ranked department types per row for each method (``model``/``blend`` only with model scores)."""
    out = {"duty_list": [rank_departments(c, lists, reasons=False) for c in cat_probs]}
    if model_scores is not None:
        out["model"] = [rank_departments({}, lists, m, reasons=False) for m in model_scores]
        out["blend"] = [
            rank_departments(c, lists, m, blend=blend, temperature=temperature, reasons=False)
            for c, m in zip(cat_probs, model_scores, strict=True)
        ]
    return out


def ranking_metrics(ranked: Sequence[Sequence[RankedDepartment]], labels: Sequence[str], n_bins: int = 10) -> dict:
    """top-1 / top-3 accuracy, mean reciprocal rank, log-loss and top-1 calibration (ECE) against ``labels``."""
    from minyi_nlp.models.metrics import expected_calibration_error, reliability_bins

    n = len(labels)
    if n == 0:
        raise ValueError("no rows to evaluate")
    ranks, conf, nll = [], [], []
    for r, y in zip(ranked, labels, strict=True):
        names = [d.department for d in r]
        ranks.append(names.index(y) + 1 if y in names else math.inf)
        conf.append(r[0].score if r else 0.0)
        p = next((d.score for d in r if d.department == y), 0.0)
        nll.append(-math.log(max(p, _EPS)))
    rk = np.asarray(ranks, dtype=float)
    confidence, correct = np.asarray(conf), rk == 1
    return {
        "n": n,
        "top1": float(np.mean(rk <= 1)),
        "top3": float(np.mean(rk <= 3)),
        "top1_ci95": wilson_interval(int(np.sum(rk <= 1)), n),
        "top3_ci95": wilson_interval(int(np.sum(rk <= 3)), n),
        "top5": float(np.mean(rk <= 5)),
        "mrr": float(np.mean(1.0 / rk)),
        "log_loss": float(np.mean(nll)),
        "ece": expected_calibration_error(confidence, correct, n_bins),
        "reliability": reliability_bins(confidence, correct, n_bins),
    }


def wilson_interval(k: int, n: int, z: float = 1.96) -> list[float]:
    """95 % Wilson score interval of a proportion k/n (rounded to 4 places)."""
    if n == 0:
        return [0.0, 0.0]
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def tune_blend(
    cat_probs: Sequence[Mapping[str, float]],
    model_scores: Sequence[Mapping[str, float]],
    labels: Sequence[str],
    lists: Any,
    *,
    grid: int = 20,
) -> dict[str, Any]:
    """Blend weight maximising (top-1 + top-3)/2 on these (validation) rows, ties → lower log-loss; then the
    temperature minimising log-loss at that weight."""
    curve = []
    for w in np.linspace(0.0, 1.0, grid + 1):
        ranked = rankings(cat_probs, model_scores, lists, blend=float(w))["blend"]
        m = ranking_metrics(ranked, labels)
        curve.append({"blend": round(float(w), 4), "top1": m["top1"], "top3": m["top3"], "log_loss": m["log_loss"]})
    best = max(curve, key=lambda c: (round(c["top1"] + c["top3"], 9), -c["log_loss"]))
    temps = []
    for t in np.exp(np.linspace(math.log(0.25), math.log(4.0), 33)):
        ranked = rankings(cat_probs, model_scores, lists, blend=best["blend"], temperature=float(t))["blend"]
        temps.append((ranking_metrics(ranked, labels)["log_loss"], float(t)))
    nll, temperature = min(temps)
    return {"blend": best["blend"], "temperature": round(temperature, 4), "n_val": len(labels),
            "val_top1": best["top1"], "val_top3": best["top3"], "val_log_loss": round(nll, 4),
            "objective": "max (top1+top3)/2 over blend, then min log-loss over temperature", "curve": curve}


def route_hits(
    ranked: Sequence[Sequence[RankedDepartment]],
    texts: Sequence[str],
    labels: Sequence[str],
    places: Sequence[str | None],
    sources: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Route-level (department type *at* a jurisdiction) top-1 / top-3 on rows whose label has a place.

    The predicted place is the jurisdiction found in the text at the duty list's level
    (:func:`~minyi_nlp.routing.jurisdiction.place_at_level`), as the dispatcher shows it.
    """
    from minyi_nlp.routing import find_jurisdiction
    from minyi_nlp.text import normalize_text

    hits1 = hits3 = n = dept_right = place_right = 0
    for i, (r, text, y, place) in enumerate(zip(ranked, texts, labels, places, strict=True)):
        if not isinstance(place, str) or not place:
            continue
        n += 1
        city = SOURCE_CITY.get(sources[i]) if sources is not None else None
        juris = find_jurisdiction(normalize_text(text), default_city=city)
        city_name = city or find_jurisdiction("").name
        routes = [(d.department, place_at_level(juris, d.level, city_name, d.department)) for d in r[:3]]
        hits1 += bool(routes) and routes[0] == (y, place)
        hits3 += (y, place) in routes
        if routes and routes[0][0] == y:
            dept_right += 1
            place_right += routes[0][1] == place
    return {
        "n": n,
        "top1": round(hits1 / n, 4) if n else None,
        "top3": round(hits3 / n, 4) if n else None,
        "place_right_when_department_right": round(place_right / dept_right, 4) if dept_right else None,
    }


# --------------------------------------------------------------------------- held-out evaluation


def evaluate_rankings(
    frame: pd.DataFrame,
    cat_probs: Sequence[Mapping[str, float]],
    model_scores: Sequence[Mapping[str, float]] | None,
    lists: Any,
    *,
    blend: float = 0.0,
    temperature: float = 1.0,
    audit: pd.DataFrame | None = None,
    ranked: Mapping[str, Sequence[Sequence[RankedDepartment]]] | None = None,
) -> dict[str, Any]:
    """All methods on ``frame`` (columns ``text``, ``label`` = department type, optional ``source``,
    ``jurisdiction``, ``id``), from the category probabilities and the department head's scores per row;
    with ``audit`` (:func:`~minyi_nlp.data.department_audit.read_department_audit`) and an ``id`` column, also
    on the audited labels (``audit``). ``ranked``: the methods' rankings (:func:`rankings`) when the caller has
    them already."""
    texts = frame["text"].astype(str).tolist()
    labels = frame["label"].astype(str).tolist()
    sources = frame["source"].astype(str).tolist() if "source" in frame else None
    if ranked is None:
        ranked = rankings(cat_probs, model_scores, lists, blend=blend, temperature=temperature)
    methods = {name: ranking_metrics(r, labels) for name, r in ranked.items()}
    out: dict[str, Any] = {"n": len(labels), "methods": methods, "label_note": LABEL_NOTE}
    if sources is not None:
        out["by_source"] = {}
        for src in sorted(set(sources)):
            idx = [i for i, s in enumerate(sources) if s == src]
            out["by_source"][src] = {
                name: {k: v for k, v in ranking_metrics([r[i] for i in idx], [labels[i] for i in idx]).items()
                       if k in ("n", "top1", "top3")}
                for name, r in ranked.items()
            }
    if "jurisdiction" in frame:
        places = frame["jurisdiction"].tolist()
        out["routes"] = {name: route_hits(r, texts, labels, places, sources) for name, r in ranked.items()}
    if audit is not None and "id" in frame:
        out["audit"] = audited_metrics(frame["id"].astype(str).tolist(), ranked, labels, audit,
                                       generic_types(lists))
    best = "blend" if "blend" in ranked else "duty_list"
    out["per_department"] = _per_department(ranked[best], labels)
    reachable = set()
    for c in lists.duty.values():
        reachable.update(e.department for e in c)
    out["labels_outside_duty_list"] = int(sum(y not in reachable for y in labels))
    if model_scores:
        targets = set(model_scores[0])
        out["labels_outside_model_targets"] = int(sum(y not in targets for y in labels))
    return out


def audited_metrics(ids: Sequence[str], ranked: Mapping[str, Sequence[Sequence[RankedDepartment]]],
                    derived: Sequence[str], audit: pd.DataFrame, generic: Collection[str] = ()) -> dict[str, Any]:
    """Each method on the audited rows: ``confirmed`` (the rows whose derived label the audit confirmed, scored
    against it) and ``audited_labels`` (every audited row but the unclear ones and those whose handler was a
    ``generic`` office, which the derived labels leave out too, scored against its label after the audit), with
    the audit's verdict counts and the derived labels' precision."""
    from minyi_nlp.data.department_audit import audited_labels

    verdict = dict(zip(audit["id"].astype(str), audit["verdict"], strict=True))
    after = audited_labels(audit)
    rows = [i for i, x in enumerate(ids) if x in verdict]
    counts = {v: sum(verdict[ids[i]] == v for i in rows) for v in ("correct", "wrong", "unclear")}
    out: dict[str, Any] = {"audited": len(rows), "not_audited": len(ids) - len(rows), "verdicts": counts,
                           "handled_by_a_generic_office": sum(after[ids[i]] in generic for i in rows)}
    judged = counts["correct"] + counts["wrong"]
    if judged:
        out["derived_label_precision"] = round(counts["correct"] / judged, 4)
        out["derived_label_precision_ci95"] = wilson_interval(counts["correct"], judged)
    confirmed = [i for i in rows if verdict[ids[i]] == "correct"]
    relabelled = [i for i in rows if after[ids[i]] is not None and after[ids[i]] not in generic]
    keep = ("n", "top1", "top3", "top1_ci95", "top3_ci95")
    for name, idx, labels in (("confirmed", confirmed, [derived[i] for i in confirmed]),
                              ("audited_labels", relabelled, [after[ids[i]] for i in relabelled])):
        if idx:
            out[name] = {m: {k: v for k, v in ranking_metrics([r[i] for i in idx], labels).items() if k in keep}
                         for m, r in ranked.items()}
    return out


def _per_department(ranked: Sequence[Sequence[RankedDepartment]], labels: Sequence[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for r, y in zip(ranked, labels, strict=True):
        names = [d.department for d in r[:3]]
        row = out.setdefault(y, {"support": 0, "top1": 0, "top3": 0})
        row["support"] += 1
        row["top1"] += bool(names) and names[0] == y
        row["top3"] += y in names
    return {
        k: {"support": v["support"], "top1": v["top1"] / v["support"], "top3": v["top3"] / v["support"]}
        for k, v in sorted(out.items(), key=lambda kv: -kv[1]["support"])
    }


def headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """``n``, ``top1``, ``top3`` of the method the dispatcher uses (blend when a model is loaded)."""
    method = "blend" if "blend" in metrics["methods"] else "duty_list"
    m = metrics["methods"][method]
    return {"n": metrics["n"], "top1": round(m["top1"], 4), "top3": round(m["top3"], 4), "method": method}


def write_department_report(metrics: Mapping[str, Any], reports_dir: Path) -> list[Path]:
    """``department_eval.json`` and two plots (top-k per method, blend reliability) under ``reports_dir``."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    public = {**headline(metrics), **{k: v for k, v in metrics.items() if k != "n"}}
    public["methods"] = {k: {kk: vv for kk, vv in v.items() if kk != "reliability"}
                         for k, v in metrics["methods"].items()}
    (reports_dir / "department_eval.json").write_text(json.dumps(public, ensure_ascii=False, indent=2) + "\n",
                                                      encoding="utf-8")
    from minyi_nlp.models.plots import plot_reliability

    plots_dir = reports_dir / "plots"
    best = "blend" if "blend" in metrics["methods"] else "duty_list"
    m = metrics["methods"][best]
    return [
        plot_topk(metrics["methods"], plots_dir / "department_topk.png"),
        plot_reliability(m["reliability"], m["ece"], plots_dir / "department_reliability.png"),
    ]


def plot_topk(methods: Mapping[str, Mapping[str, float]], path: Path) -> Path:
    """Grouped bars: top-1 and top-3 accuracy per method."""
    from minyi_nlp.models.plots import pyplot, save_figure

    plt = pyplot()

    names = list(methods)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for offset, key in ((-0.2, "top1"), (0.2, "top3")):
        vals = [methods[n][key] for n in names]
        bars = ax.bar(x + offset, vals, width=0.4, label=key)
        for b, v in zip(bars, vals, strict=True):
            ax.text(b.get_x() + b.get_width() / 2, v + 0.01, f"{v:.3f}", ha="center", fontsize=8)
    ax.set_xticks(x, [n.replace("_", " ") for n in names])
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy on held-out derived labels")
    ax.set_title("Department type: top-1 / top-3")
    ax.legend(loc="upper left")
    return save_figure(fig, path)


# --------------------------------------------------------------------------- the CLI's entry point


def normalise_labels(raw: Sequence[Any], lists: Any | None = None) -> list[tuple[str | None, str | None, str]]:
    """(department type, jurisdiction, status) per raw label; status ``ok`` / ``unknown`` / ``generic``.

    "商洛市公安局交警支队" → (交警, 商洛市, ok); "A7县教育局" → (教育局, A7县, ok); "市信息办" → generic.
    """
    from minyi_nlp.routing import load_lists, normalise_department
    from minyi_nlp.routing.jurisdiction import load_gazetteer

    lists = lists or load_lists()
    gaz = load_gazetteer(lists.directory)
    out: list[tuple[str | None, str | None, str]] = []
    for value in raw:
        m = normalise_department(value if isinstance(value, str) else "", lists=lists, gazetteer=gaz)
        if m is None:
            out.append((None, None, "unknown"))
        else:
            out.append((m.department, m.jurisdiction, "generic" if m.generic else "ok"))
    return out


def generic_types(lists: Any) -> set[str]:
    """The department types that are generic offices (区县人民政府, 信访局 …): never a derived label."""
    return {d.name for d in lists.departments.values() if d.generic}


def read_audit(lists: Any) -> pd.DataFrame | None:
    """The hand audit of the held-out derived labels (``data/labels/departments/audit.csv``), if the project has it."""
    from minyi_nlp.data.department_audit import audit_path, read_department_audit

    return read_department_audit(departments=lists.departments) if audit_path().is_file() else None


def held_out_ids(bundle: Any, head: str) -> set[str]:
    """The ids of head ``head``'s test part, as recorded in the bundle's ``splits.json``."""
    splits = bundle.extras.get("splits", {}).get(head)
    if not splits:
        raise ValueError(f"bundle {bundle.version} records no held-out part for head {head!r}")
    return set(splits["test"])


def department_scores(dispatcher: Any, texts: Sequence[str]) -> tuple[list[dict], list[dict] | None]:
    """What the duty list reads (category or decided sub-category keys, :mod:`~minyi_nlp.dispatch.subcategory`)
    and the department head's scores per text, from one encoding."""
    from minyi_nlp.dispatch.subcategory import duty_inputs

    bundle = dispatcher.bundle
    X, prepared = bundle.encode(list(texts))
    cats = duty_inputs(bundle, X, bundle.predict_proba("category", X), bundle.head("category").labels,
                       dispatcher.routing.subcategory_threshold)
    if "department" not in bundle.heads:
        return cats, None
    return cats, as_dicts(bundle.predict_proba("department", X, prepared), bundle.head("department").labels)


def served_routes(dispatcher: Any, texts: Sequence[str]) -> tuple[list[list[Any]], int]:
    """The dispatcher's own route lists for ``texts`` (what the service and the batch job return), and how many
    of them an urgent hazard's responders changed."""
    suggestions = dispatcher.suggest_many([(None, t) for t in texts], explain=False, reasons=False)
    flagged = sum(1 for s in suggestions if s.urgency is not None and dispatcher.urgency.responders(s.urgency))
    return [s.departments for s in suggestions], flagged


def evaluate_department_file(
    path: Path | None,
    *,
    text_col: str = "text",
    label_col: str = "department",
    rejects: Path | None = None,
    dispatcher: Any | None = None,
) -> dict[str, Any]:
    """Top-1 / top-3 of the served routing (category head × duty list, blended with the department head) on
    a labelled file, or on the department head's held-out test part when ``path`` is None.

    Raw unit names in ``label_col`` are normalised to the department-type vocabulary; rows whose label is
    not a known unit, or is a generic office, are written to ``rejects`` (default ``<file>.rejects.csv``)
    and not scored. Returns ``n``, ``top1``, ``top3`` (the blend, or the duty list without a department
    head), every method's figures, route-level figures and the counts of rejected rows.
    """
    from minyi_nlp.data.tasks import load_department_data
    from minyi_nlp.dispatch.dispatcher import Dispatcher

    dispatcher = dispatcher or Dispatcher.load()
    lists = dispatcher.lists
    extra: dict[str, Any] = {}
    if path is None:
        ids = held_out_ids(dispatcher.bundle, "department")
        data = load_department_data(lists=lists)
        frame = data[data["id"].isin(ids) & ~data["generic"]].reset_index(drop=True)
        extra["data"] = "held-out test part of the derived labels (splits.json in the bundle)"
    else:
        frame, extra = load_department_labels(Path(path), text_col=text_col, label_col=label_col,
                                              rejects=rejects, lists=lists)
    if frame.empty:
        raise ValueError(f"{path}: no usable rows to evaluate")
    cats, scores = department_scores(dispatcher, frame["text"].astype(str).tolist())
    ranked = rankings(cats, scores, lists, blend=dispatcher.routing.blend, temperature=dispatcher.routing.temperature)
    metrics = evaluate_rankings(frame, cats, scores, lists, ranked=ranked)
    served, flagged = served_routes(dispatcher, frame["text"].astype(str).tolist())
    metrics["methods"]["served"] = ranking_metrics(served, frame["label"].astype(str).tolist())
    audit = read_audit(lists) if path is None else None
    if audit is not None:
        extra["audit"] = audited_metrics(frame["id"].astype(str).tolist(), {**ranked, "served": served},
                                         frame["label"].astype(str).tolist(), audit, generic_types(lists))
    out = {**headline(metrics), **extra}
    out["methods"] = {k: {kk: (round(vv, 4) if isinstance(vv, float) else vv) for kk, vv in v.items()
                          if kk in ("top1", "top3", "top1_ci95", "top3_ci95", "mrr", "ece")}
                      for k, v in metrics["methods"].items()}
    out["served_note"] = (f"served: the dispatcher's own route list (the blend; for an urgent appeal whose hazard "
                          f"has responders in hazards.yaml, those mixed in): {flagged} of {len(frame)} rows")
    if "routes" in metrics:
        out["routes"] = metrics["routes"]
    if "by_source" in metrics and path is None:
        out["by_source"] = metrics["by_source"]
    out["model_version"] = dispatcher.version
    out["label_note"] = LABEL_NOTE
    return out


def load_department_labels(
    path: Path, *, text_col: str, label_col: str, rejects: Path | None = None, lists: Any | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows of a labelled file ready to score (``text``, ``label`` = department type, ``jurisdiction``) and counts.

    Invalid rows (loader rules), unknown units and generic offices go to ``rejects``
    (default ``<file>.rejects.csv``), one line per problem with the rule and the reason.
    """
    from minyi_nlp.data import load_file

    if not path.exists():
        raise ValueError(f"{path}: no such file")
    rejects = rejects or path.with_name(path.stem + ".rejects.csv")
    result = load_file(path, {"content": text_col, "department": label_col}, rejects_path=rejects)
    frame = result.frame
    norm = normalise_labels(frame["department"].tolist(), lists)
    status = [s for _, _, s in norm]
    bad = [i for i, s in enumerate(status) if s != "ok"]
    extra = {
        "data": str(path),
        "rejected": int(result.rejects["row"].nunique()) if len(result.rejects) else 0,
        "rejected_unknown_department": status.count("unknown"),
        "excluded_generic_office": status.count("generic"),
        "rejects_file": str(rejects),
    }
    if bad:
        own = pd.DataFrame(
            {
                "source": result.source,
                "row": frame["row"].iloc[bad].to_numpy(),
                "rule": ["department_" + status[i] for i in bad],
                "field": "department",
                "reason": [
                    "label is not a known department unit" if status[i] == "unknown"
                    else f"label is a generic office ({norm[i][0]}), not a department-type target"
                    for i in bad
                ],
                text_col: frame["content"].iloc[bad].to_numpy(),
                label_col: frame["department"].iloc[bad].to_numpy(),
            }
        )
        from minyi_nlp.data.private import mask_frame, write_private_csv

        write_private_csv(pd.concat([result.rejects, mask_frame(own)], ignore_index=True), rejects)
        log.warning("%s: %d rows not scored (unknown or generic department), see %s", path, len(bad), rejects)
    ok = [i for i, s in enumerate(status) if s == "ok"]
    scored = pd.DataFrame(
        {
            "text": frame["content"].iloc[ok].astype(str).to_numpy(),
            "label": [norm[i][0] for i in ok],
            "jurisdiction": [norm[i][1] for i in ok],
        }
    )
    return scored, extra
