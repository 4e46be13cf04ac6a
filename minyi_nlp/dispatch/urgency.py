"""Urgency: the urgency head and the hazard lexicon make one score, one flag and the hazards to name.

For every appeal, ``score = (1 − w)·P_head(urgent) + w·lexicon`` where ``lexicon`` is the hazard lexicon's
best-hit confidence after its negation / hedge / history cues (:mod:`minyi_nlp.routing.hazards`), or, when
the bundle has a second stage (``stack`` in ``urgency.json``, :mod:`minyi_nlp.dispatch.urgency_stack`), that
stage's P(urgent) over the head's P and the lexicon's verdict (hit statuses, document context). The
appeal is urgent when ``score ≥ threshold``. ``w`` (or the stack) and ``threshold`` live in the bundle:
``minyi train`` chooses them on the hand-labelled urgency set (``data/labels/urgency``, never trained on)
as the pair that keeps recall ≥ the target with the best precision, and reports the same choice made out of
fold (:func:`choose_out_of_fold`). A bundle without an urgency head falls back to the lexicon's own flag.

The service, the batch job and ``minyi evaluate --task urgency`` all go through :class:`UrgencyScorer`
(called by :meth:`~minyi_nlp.dispatch.dispatcher.Dispatcher.suggest_many`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from minyi_nlp.dispatch.urgency_stack import Stacker
from minyi_nlp.models.bundle import Bundle
from minyi_nlp.params import HazardMixParams

URGENCY_EXTRA = "urgency"  # the bundle's urgency.json
HEAD = "urgency"
URGENT_LABEL = "urgent"
GENERIC = "life_threat"  # the lexicon's generic kind (随时可能, 生命危险): named only when no specific hazard is


@dataclass(frozen=True)
class UrgencyConfig:
    """How the head and the lexicon are mixed (``weight``, or a second stage ``stack``), and where the flag
    is set (``urgency.json`` of a bundle)."""

    weight: float
    threshold: float
    stack: Stacker | None = None

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any] | None, flag_at: float) -> UrgencyConfig:
        if not extra:  # no urgency head: the lexicon's own flag
            return cls(1.0, flag_at)
        stack = Stacker.from_dict(extra["stack"]) if extra.get("stack") else None
        return cls(float(extra.get("weight", 0.0)), float(extra["threshold"]), stack)

    def scores(self, model: np.ndarray | None, results: Sequence[Any]) -> np.ndarray:
        """The urgency score of each appeal from the head's P (None: no head) and the lexicon's results."""
        if self.stack is not None and model is not None:
            return self.stack.score(model, results)
        return mix(model, np.array([r.score for r in results], float), self.weight)


@dataclass(slots=True)
class Urgency:
    """One appeal's urgency: the mixed ``score``, the flag, the model's and the lexicon's parts, the hazard
    kinds the lexicon found (strongest first; ``hazards``: their names in Chinese) and the words it read."""

    score: float
    urgent: bool
    model: float | None
    lexicon: float
    kinds: list[str] = field(default_factory=list)
    hazards: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The review reason of an urgent appeal, naming the hazard (e.g. ``紧急: 燃气/煤气泄漏 (燃气泄漏)``)."""
        if self.hazards:
            words = "、".join(self.terms[:3])
            return f"紧急: {'、'.join(self.hazards[:3])}" + (f" (文中: {words})" if words else "")
        return f"紧急: 模型判断可能危及生命安全 (紧急度 {self.score:.2f})"

    def as_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 4), "model": None if self.model is None else round(self.model, 4),
                "lexicon": round(self.lexicon, 4), "kinds": self.kinds, "hazards": self.hazards,
                "terms": self.terms}


def mix(model: np.ndarray | None, lexicon: np.ndarray, weight: float) -> np.ndarray:
    """``(1 − weight)·model + weight·lexicon`` (the lexicon alone without a model)."""
    if model is None:
        return np.asarray(lexicon, float)
    return (1.0 - weight) * np.asarray(model, float) + weight * np.asarray(lexicon, float)


class UrgencyScorer:
    """A bundle's urgency head (if any), the hazard lexicon and the bundle's :class:`UrgencyConfig`."""

    def __init__(self, bundle: Bundle, lexicon: Any | None = None) -> None:
        from minyi_nlp.routing.hazards import load_hazards

        self.lexicon = lexicon or load_hazards()
        self.head = bundle.heads.get(HEAD)
        self.config = UrgencyConfig.from_extra(bundle.extras.get(URGENCY_EXTRA) if self.head else None,
                                               self.lexicon.flag_at)

    def model_proba(self, X: sp.csr_matrix) -> np.ndarray | None:
        """P(urgent) of the head for vectors ``X`` (None without a head)."""
        if self.head is None:
            return None
        return self.head.predict_proba(X)[:, self.head.labels.index(URGENT_LABEL)]

    def responders(self, urgency: Urgency) -> dict[str, str] | None:
        """The department types an appeal's route list mixes in (type → the hazard's name), None unless it is
        urgent and a hazard it names has responders in the lexicon."""
        return (self.lexicon.responders_of(urgency.kinds) or None) if urgency.urgent else None

    def score_many(self, X: sp.csr_matrix, prepared: Sequence[str]) -> list[Urgency]:
        """Urgency of each encoded appeal (``prepared``: its normalised, masked text)."""
        results = self.lexicon.match_many(prepared)
        model = self.model_proba(X)
        scores = self.config.scores(model, results)
        flags = (scores >= self.config.threshold).tolist()
        models = [None] * len(results) if model is None else np.asarray(model, float).tolist()
        out = []
        for i, (res, score) in enumerate(zip(results, np.asarray(scores, float).tolist(), strict=True)):
            kinds = [k for k in res.kinds if k != GENERIC or len(res.kinds) == 1]
            terms = [h.term for h in sorted(res.hits, key=lambda h: -h.confidence)
                     if h.kind in kinds and h.confidence >= res.flag_at]
            out.append(Urgency(
                score=score, urgent=flags[i], model=models[i], lexicon=float(res.score), kinds=kinds,
                hazards=[self.lexicon.kinds.get(k, k) for k in kinds], terms=list(dict.fromkeys(terms)),
            ))
        return out


# --------------------------------------------------------------------------- choosing weight and threshold


def choose(y: np.ndarray, model: np.ndarray, lexicon: np.ndarray, weights: Sequence[float],
           target: float) -> dict[str, float]:
    """The (weight, threshold) with recall ≥ ``target`` and the best precision on ``y`` (ties: the smaller
    weight), with that precision and recall."""
    from minyi_nlp.routing.urgency_eval import threshold_at_recall  # evaluation code: scikit-learn, pandas

    best: dict[str, float] | None = None
    for w in weights:
        s = mix(model, lexicon, w)
        t = threshold_at_recall(y, s, target)
        flags = s >= t
        precision = float(y[flags].mean()) if flags.any() else 0.0
        if best is None or precision > best["precision"] + 1e-12:
            best = {"weight": float(w), "threshold": t, "precision": precision,
                    "recall": float(flags[y == 1].mean())}
    assert best is not None
    return best


def choose_out_of_fold(y: np.ndarray, model: np.ndarray, lexicon: np.ndarray, weights: Sequence[float],
                       target: float, folds: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """Weight and threshold chosen on ``folds − 1`` folds and applied to the remaining one, for every fold:
    (flags, mixed scores, the choice of each fold). This is the honest figure of the whole procedure."""
    from sklearn.model_selection import StratifiedKFold

    folds = max(2, min(folds, int(y.sum()), int((1 - y).sum())))
    flags = np.zeros(len(y), bool)
    scores = np.zeros(len(y))
    chosen = []
    for fit, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(model, y):
        c = choose(y[fit], model[fit], lexicon[fit], weights, target)
        scores[test] = mix(model[test], lexicon[test], c["weight"])
        flags[test] = scores[test] >= c["threshold"]
        chosen.append({k: round(v, 4) for k, v in c.items()})
    return flags, scores, chosen


# --------------------------------------------------------------------------- on the hand-labelled set


def _labelled_scores(bundle: Bundle, scorer: UrgencyScorer,
                     texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """(P_head, lexicon score, lexicon results) of labelled texts, encoded as the dispatcher encodes an appeal."""
    X, prepared, _ = bundle.encode_pairs([(None, t) for t in texts])
    model = scorer.model_proba(X)
    if model is None:
        raise ValueError(f"bundle {bundle.version} has no {HEAD!r} head")
    results = scorer.lexicon.match_many(prepared)
    return model, np.array([r.score for r in results], float), results


def tune_urgency(bundle: Bundle, section: HazardMixParams, *, labels: Any | None = None,
                 lexicon: Any | None = None, stack: Stacker | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Choose the bundle's weight (or take the second stage ``stack``, fitted on training rows) and the
    threshold on the hand-labelled set (all of it: what is shipped) and score the same choice out of fold
    (what is reported). Returns (``urgency.json``, the report)."""
    from minyi_nlp.data.urgency_labels import read_urgency_labels
    from minyi_nlp.routing.urgency_eval import Targets, binary_report, evaluate_scorer, in_test_half, read_design

    labels = read_urgency_labels() if labels is None else labels
    sizes = read_design()["stratum_sizes"]
    scorer = UrgencyScorer(bundle, lexicon)
    model, lex, results = _labelled_scores(bundle, scorer, labels["text"].tolist())
    y = labels["urgent"].to_numpy(int)
    strata = labels["stratum"]
    targets = Targets(section.target_recall, section.target_precision)
    mix_choice = choose(y, model, lex, section.weights, section.target_recall)
    mixed = mix(model, lex, mix_choice["weight"])
    scorers = {"lexicon": lex, "head": model, "mixed": mixed}
    if stack is None:  # the mix: weight and threshold chosen together
        shipped, flagged = mix_choice, mixed
        oof_flags, _, chosen = choose_out_of_fold(y, model, lex, section.weights, section.target_recall,
                                                  section.folds)
        how = {"scorer": "mixed", "weight": shipped["weight"]}
    else:  # the second stage: only the threshold is chosen here
        flagged = scorers["stacked"] = stack.score(model, results)
        zeros = np.zeros(len(y))
        shipped = choose(y, flagged, zeros, [0.0], section.target_recall)
        oof_flags, _, chosen = choose_out_of_fold(y, flagged, zeros, [0.0], section.target_recall, section.folds)
        how = {"scorer": "stacked", "stack": stack.as_dict()}
    oof = binary_report(y, oof_flags, strata, sizes)
    oof["choices"] = chosen
    half = in_test_half(labels["id"])
    test = labels[half].reset_index(drop=True)
    # stored rounded DOWN, and the in-sample figures use the stored value: the served flag is exactly this one
    threshold = float(np.floor(shipped["threshold"] * 1e6) / 1e6)
    extra = {**how, "threshold": threshold,
             "lexicon_version": scorer.lexicon.version, "target_recall": section.target_recall,
             "chosen_on": f"{len(labels)} hand-labelled appeals ({int(y.sum())} urgent)"}
    report = {
        "labels": "data/labels/urgency/labels.csv", "n": len(labels), "urgent": int(y.sum()),
        "targets": {"recall": targets.recall, "precision": targets.precision},
        "shipped": {**extra, "in_sample": binary_report(y, flagged >= threshold, strata, sizes)},
        "out_of_fold": oof,
        "meets_target": bool(oof["recall"] is not None and oof["recall"] >= targets.recall
                             and (oof["precision"] or 0) >= targets.precision),
        "scorers": {name: {**evaluate_scorer(labels, s, sizes=sizes, targets=targets, folds=section.folds),
                           "test_half": evaluate_scorer(test, s[half], sizes=sizes, targets=targets,
                                                        folds=section.folds)}
                    for name, s in scorers.items()},
        "weights_tried": list(section.weights),
        "mixed_weight": mix_choice["weight"],
        "notes": ["shipped: weight (mixed) and threshold chosen on all the labels (in-sample figures are "
                  "optimistic); stacked: a second stage fitted on the head's training rows, only its threshold "
                  "chosen on the labels; out_of_fold: the same choice made on 4/5 of the labels and applied to "
                  "the other 1/5, pooled: the honest figure.",
                  "pool_weighted: each labelled appeal weighted back to the 14,071-appeal pool by lexicon stratum."],
    }
    return extra, report


def evaluate_urgency(bundle: Bundle, *, labels: Any | None = None, lexicon: Any | None = None) -> dict[str, Any]:
    """The served urgency flag (the bundle's weight and threshold, as the dispatcher applies them) on the
    hand-labelled set. The threshold was chosen on these labels: ``minyi train``'s out-of-fold figure in
    ``reports/urgency_eval.json`` is the honest one."""
    from minyi_nlp.data.urgency_labels import read_urgency_labels
    from minyi_nlp.routing.urgency_eval import binary_report, evaluate_scorer, read_design

    labels = read_urgency_labels() if labels is None else labels
    sizes = read_design()["stratum_sizes"]
    scorer = UrgencyScorer(bundle, lexicon)
    X, prepared, _ = bundle.encode_pairs([(None, t) for t in labels["text"]])
    results = scorer.score_many(X, prepared)
    y = labels["urgent"].to_numpy(int)
    flags = np.array([u.urgent for u in results])
    scores = np.array([u.score for u in results])
    out = binary_report(y, flags, labels["stratum"], sizes)
    out.update({"weight": scorer.config.weight, "threshold": scorer.config.threshold,
                "with_head": scorer.head is not None, "model_version": bundle.version,
                "curve": {k: v for k, v in evaluate_scorer(labels, scores, sizes=sizes).items()
                          if k in ("average_precision", "precision_at_recall")},
                "note": "threshold chosen on these labels by `minyi train`; its out-of-fold figure is in "
                        "reports/urgency_eval.json"})
    return out
