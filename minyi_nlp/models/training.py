"""Fit the encoder and every head, the same way for each head, and evaluate each on its held-out part.

For each head (:mod:`minyi_nlp.data.tasks`): the encoder is fitted once on the training texts of all
heads (``train`` and ``val`` rows; never a ``test`` row; not those of a head with ``encoder_corpus: false``,
whose rows may hold other heads' test texts), every row is encoded once, and the head — a
:class:`~minyi_nlp.models.heads.LinearHead`, or a :class:`~minyi_nlp.models.tree_head.TreeHead` for
``kind: tree``, with the parameters of ``params.yaml``'s
``heads.<name>`` — is fitted on its ``train`` + ``val`` rows and scored on its ``test`` rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

import minyi_nlp.progress as progress
from minyi_nlp.config import RESOURCES_DIR
from minyi_nlp.data.tasks import TaskData
from minyi_nlp.models.bundle import Bundle, sha256_texts
from minyi_nlp.models.encoder import Encoder
from minyi_nlp.models.heads import KeywordRules, LinearHead
from minyi_nlp.models.metrics import classification_report
from minyi_nlp.models.tree_head import TreeHead
from minyi_nlp.params import EncoderParams, HeadSection, KeywordParams, Params

log = logging.getLogger(__name__)

KEYWORDS_DIR = RESOURCES_DIR / "keywords"
WEIGHT_GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
FIT_SPLITS = ("train", "val")


@dataclass
class Encoded:
    """A task's rows with their prepared texts and vectors (row i of ``X`` is row i of ``frame``)."""

    frame: pd.DataFrame
    prepared: list[str]
    X: sp.csr_matrix

    def part(self, *splits: str) -> Encoded:
        idx = np.flatnonzero(self.frame["split"].isin(splits).to_numpy())
        return Encoded(self.frame.iloc[idx].reset_index(drop=True), [self.prepared[i] for i in idx], self.X[idx])


@dataclass
class Trained:
    """The fitted bundle (not yet saved), each head's held-out report and the encoded task data."""

    bundle: Bundle
    metrics: dict[str, Any]
    encoded: dict[str, Encoded] = field(default_factory=dict)
    data_hashes: dict[str, str] = field(default_factory=dict)


def read_keyword_rules(name: str, sources: Mapping[str, Sequence[tuple[str, str]]] | None = None
                       ) -> list[tuple[str, str]]:
    """``sources[name]`` when given (rules built by the caller, e.g. the department names of the lists), else
    ``resources/keywords/<name>.yaml``: ``rules: [{label, pattern}, …]``."""
    if sources and name in sources:
        return [(str(label), str(pattern)) for label, pattern in sources[name]]
    path = KEYWORDS_DIR / f"{name}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"keyword rules {path} not found (params.yaml heads.*.keywords.file = {name!r})")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [(str(r["label"]), str(r["pattern"])) for r in data.get("rules", [])]


def fit_encoder(params: EncoderParams, texts: Sequence[str]) -> Encoder:
    t0 = time.perf_counter()
    encoder = Encoder(params).fit(list(texts))
    log.info("encoder fitted on %d texts in %.1fs: %d features", len(texts), time.perf_counter() - t0,
             encoder.n_features)
    return encoder


def encode(encoder: Encoder, task: TaskData) -> Encoded:
    prepared = encoder.prepare(task.frame["text"].astype(str).tolist())
    return Encoded(task.frame.reset_index(drop=True), prepared, encoder.transform_prepared(prepared))


def _targets(labels: Sequence[str], min_rows: int) -> set[str]:
    counts = pd.Series(list(labels)).value_counts()
    return {str(k) for k, v in counts.items() if v >= min_rows}


def block_mask(encoder: Encoder, blocks: Sequence[str] | None) -> np.ndarray | None:
    """Boolean mask of the columns of the named encoder blocks (None: every column)."""
    if blocks is None:
        return None
    known = {b.name: b for b in encoder.blocks}
    unknown = sorted(set(blocks) - set(known))
    if unknown:
        raise ValueError(f"unknown encoder block(s) {unknown}; this encoder has {sorted(known)}")
    mask = np.zeros(encoder.n_features, bool)
    for name in blocks:
        mask[known[name].start : known[name].stop] = True
    return mask


def fit_head(section: HeadSection, rows: Encoded, rules: KeywordRules | None = None,
             encoder: Encoder | None = None) -> LinearHead | TreeHead:
    """A head fitted on ``rows`` (labels with fewer than ``min_rows`` rows are dropped, rows sharing a
    ``group`` are kept together by the calibration splits, only the ``blocks`` of ``encoder`` are read)."""
    labels = rows.frame["label"].astype(str).tolist()
    keep = np.flatnonzero(np.isin(labels, sorted(_targets(labels, section.min_rows))))
    groups = rows.frame["group"].astype(str).to_numpy()[keep] if "group" in rows.frame else None
    if section.blocks is not None and encoder is None:
        raise ValueError("a head that reads only some blocks needs the encoder")
    columns = block_mask(encoder, section.blocks) if encoder is not None else None
    head = TreeHead(section.model) if section.kind == "tree" else LinearHead(section.model, rules)
    return head.fit(rows.X[keep], [labels[i] for i in keep], groups=groups, columns=columns)


def head_report(head: LinearHead, rows: Encoded, n_bins: int = 10) -> dict[str, Any]:
    """Held-out report of a head on ``rows`` (labels it cannot predict count as errors, and are listed):
    with keyword rules, ``model_only`` holds the figures without them."""
    labels = head.labels
    known = rows.frame["label"].astype(str).isin(labels).to_numpy()
    y = rows.frame["label"].astype(str).to_numpy()
    extended = labels + sorted(set(y[~known]))
    pad = len(extended) - len(labels)

    def report(proba: np.ndarray) -> dict[str, Any]:
        full = np.hstack([proba, np.zeros((len(proba), pad))]) if pad else proba
        return classification_report(list(y), full, extended, n_bins)

    out = report(head.predict_proba(rows.X, rows.prepared))
    out["unknown_labels"] = {lab: int((y == lab).sum()) for lab in extended[len(labels):]}
    if head.rules.weight > 0:
        only = report(head.predict_proba(rows.X))
        out["model_only"] = {k: only[k] for k in ("macro_f1", "accuracy", "top2_accuracy", "ece")}
    return out


def tune_keyword_weight(section: HeadSection, rows: Encoded, rules: list[tuple[str, str]],
                        encoder: Encoder) -> dict[str, Any]:
    """The keyword weight maximising out-of-fold macro-F1 on ``rows`` (ties: the smaller weight)."""
    from sklearn.model_selection import StratifiedKFold

    kw = section.keywords or KeywordParams(file="")
    y = rows.frame["label"].astype(str).to_numpy()
    labels = sorted(set(y))
    folds = max(2, min(kw.cv_folds, int(pd.Series(y).value_counts().min())))
    proba = np.zeros((len(y), len(labels)))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=section.model.random_state).split(y, y):
        fold = Encoded(rows.frame.iloc[tr], [rows.prepared[i] for i in tr], rows.X[tr])
        head = fit_head(section.model_copy(update={"min_rows": 1}), fold, encoder=encoder)
        order = [head.labels.index(lab) if lab in head.labels else None for lab in labels]
        p = head.predict_proba(rows.X[te])
        proba[te] = np.column_stack([p[:, j] if j is not None else np.zeros(len(te)) for j in order])
    texts = rows.prepared
    curve = []
    for w in WEIGHT_GRID:
        r = classification_report(list(y), KeywordRules(weight=w, rules=rules).apply(proba, labels, texts), labels)
        curve.append({"weight": w, "macro_f1": round(r["macro_f1"], 4), "accuracy": round(r["accuracy"], 4)})
    best = max(curve, key=lambda c: (c["macro_f1"], -c["weight"]))
    return {"weight": best["weight"], "n": len(y), "folds": folds, "curve": curve,
            "objective": "max out-of-fold macro-F1 on the training part (ties: smaller)"}


def keyword_rules_for(section: HeadSection, rows: Encoded, encoder: Encoder,
                      sources: Mapping[str, Sequence[tuple[str, str]]] | None = None
                      ) -> tuple[KeywordRules | None, dict[str, Any] | None]:
    """The head's keyword rules with their weight (tuned out of fold when ``weight`` is null)."""
    if section.keywords is None:
        return None, None
    rules = read_keyword_rules(section.keywords.file, sources)
    tuning = None
    weight = section.keywords.weight
    if weight is None:
        tuning = tune_keyword_weight(section, rows, rules, encoder)
        weight = tuning["weight"]
    return KeywordRules(weight=weight, rules=rules), tuning


def data_hash(task: TaskData) -> str:
    fit = task.part(*FIT_SPLITS)
    return sha256_texts(fit["text"].astype(str).tolist() + fit["label"].astype(str).tolist())


def train_heads(params: Params, tasks: Mapping[str, TaskData],
                keyword_sources: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> Trained:
    """Fit the encoder on every task's training texts, then each head; report each on its test part.
    ``keyword_sources``: keyword rules by name that are not files (:func:`read_keyword_rules`)."""
    corpus = [t for name, task in tasks.items() if params.heads[name].encoder_corpus
              for t in task.part(*FIT_SPLITS)["text"].astype(str)]
    with progress.step(f"fit encoder on {len(corpus):,} texts"):
        encoder = fit_encoder(params.encoder, corpus)
    heads: dict[str, LinearHead | TreeHead] = {}
    metrics: dict[str, Any] = {"encoder": {"n_texts": len(corpus), "n_features": encoder.n_features,
                                           "blocks": {b.name: b.stop - b.start for b in encoder.blocks}}}
    encoded: dict[str, Encoded] = {}
    for name, task in tasks.items():
        section = params.heads[name]
        with progress.step(f"encode {len(task.frame):,} rows of {name}"):
            enc = encoded[name] = encode(encoder, task)
        fit_rows = enc.part(*FIT_SPLITS)
        t0 = time.perf_counter()
        with progress.step(f"fit head {name}"):
            rules, tuning = keyword_rules_for(section, fit_rows, encoder, keyword_sources)
            head = heads[name] = fit_head(section, fit_rows, rules, encoder)
        seconds = time.perf_counter() - t0
        test = enc.part("test")
        report = head_report(head, test, params.evaluate.n_bins) if len(test.frame) else {}
        report.update({"n_train": int(len(fit_rows.frame)), "train_seconds": round(seconds, 2),
                       "active_features": int(len(head.cols_)), "data": task.report})
        if isinstance(head, TreeHead):
            report.update({"nodes": len(head.labels), "weights": int(head.W_.nnz)})
        if tuning is not None:
            report["keyword_tuning"] = tuning
        if rules is not None:
            report["keyword_weight"] = rules.weight
        metrics[name] = report
        log.info("head %s: %d training rows, %d labels, %.1fs%s", name, len(fit_rows.frame), len(head.labels),
                 seconds, f", held-out macro-F1 {report['macro_f1']:.4f}" if "macro_f1" in report else "")
    bundle = Bundle(encoder, heads)
    return Trained(bundle, metrics, encoded, {name: data_hash(t) for name, t in tasks.items()})
