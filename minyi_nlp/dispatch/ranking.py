"""Rank department types for an appeal: the duty list through the category probabilities, blended with
the department head's own scores.

Per department type d::

    duty(d)  = Σ_c P(c|text) · P(d|c)                     (职责清单 weights, normalised per category)

where c is a category key at any level: the dispatcher passes each 一级's probability under its decided
sub-category key (:mod:`minyi_nlp.dispatch.subcategory`), and the list of the most specific listed key
answers P(d|c).
    blend(d) = (1 − w) · duty(d) + w · P_model(d|text)      (w tuned on a validation part)
    score(d) = blend(d)^(1/T) / Σ_d' blend(d')^(1/T)        (temperature T fitted on the same part)

For an urgent appeal whose hazard has responders (``hazards.yaml``), those are mixed in last::

    score'(d) = (1 − u) · score(d) + u · share(d)         (share: 1/i over the responders, normalised)

A type's handling level is that of its largest duty term (the first such key), else its default level.
:func:`rank_departments_many` ranks a whole batch with a few array operations over one department axis
(:class:`DutyTable`: the duty list as a key × department matrix); :func:`rank_departments`,
:func:`duty_scores` and :func:`combine_scores` are the one-appeal views of the same arithmetic. The
dispatcher, the batch job and the evaluation all rank through :func:`rank_departments_many`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from minyi_nlp.routing.jurisdiction import place_at_level  # noqa: F401 (re-exported: a unit's place)


@dataclass(slots=True)  # not frozen: built five times per appeal, and a frozen one is built 3 × slower
class RankedDepartment:
    """A department type with its combined score, its handling level and why it is there."""

    department: str
    level: str
    score: float
    reasons: tuple[str, ...] = ()


class DutyTable:
    """The duty list of one lists object as arrays over one department axis: per category key a row of
    P(d|key) (``weights``), whether d is listed for the key at all (``listed``) and d's level there.

    Every key of the lists' taxonomy has its row from the start; other rows and departments are added on
    first use (any key the lists resolve, any department a model names), under a lock, so one table serves
    every thread of a process."""

    def __init__(self, lists: Any) -> None:
        self.lists = lists
        self._lock = threading.Lock()
        self.departments: list[str] = []
        self._column: dict[str, int] = {}
        self._row: dict[str, int] = {}  # key → row; −1: a key the duty list does not know
        self._levels: list[str] = []
        self._level_id: dict[str, int] = {}
        self._rows: list[tuple[str, tuple[Any, ...]]] = []
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        # every key of the taxonomy up front: otherwise the first thousands of small batches (a service's
        # micro-batches) keep meeting new sub-category keys, and each new key rebuilds the arrays
        for key in sorted(getattr(lists, "category_keys", ())):
            self._add_key(key)

    def _add_departments(self, names: Sequence[str]) -> None:
        for name in names:
            if name not in self._column:
                self._column[name] = len(self.departments)
                self.departments.append(name)
                self._arrays = None

    def _add_key(self, key: str) -> int:
        try:
            entries = tuple(self.lists.departments_for(key))
        except KeyError:
            self._row[key] = -1
            return -1
        self._add_departments([e.department for e in entries])
        self._row[key] = len(self._rows)
        self._rows.append((key, entries))
        self._arrays = None
        return self._row[key]

    def prepare(self, keys: Sequence[str], departments: Sequence[str] = ()) -> tuple[list[int], list[int]]:
        """(row of each key, −1 if unlisted; column of each department), adding what is new."""
        with self._lock:
            rows = [self._row[k] if k in self._row else self._add_key(k) for k in keys]
            self._add_departments(departments)
            return rows, [self._column[d] for d in departments]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(weights (rows+1, D), listed (rows+1, D), level ids (rows+1, D), name rank (D)); the last row is
        empty (padding)."""
        with self._lock:
            if self._arrays is None:
                n, d = len(self._rows), len(self.departments)
                weights, listed = np.zeros((n + 1, d)), np.zeros((n + 1, d), bool)
                levels = np.full((n + 1, d), -1, np.int32)
                for r, (_, entries) in enumerate(self._rows):
                    for e in entries:
                        c = self._column[e.department]
                        weights[r, c] += e.weight
                        if not listed[r, c]:
                            listed[r, c] = True
                            levels[r, c] = self._level_id.setdefault(e.level, len(self._level_id))
                self._levels = list(self._level_id)
                rank = np.empty(d, np.int64)
                rank[sorted(range(d), key=self.departments.__getitem__)] = np.arange(d)
                self._arrays = (weights, listed, levels, rank)
            return self._arrays

    def level_name(self, level_id: int) -> str:
        return self._levels[level_id]


_TABLES: weakref.WeakKeyDictionary[Any, DutyTable] = weakref.WeakKeyDictionary()


def duty_table(lists: Any) -> DutyTable:
    """The :class:`DutyTable` of ``lists`` (one per lists object, kept while the lists live)."""
    try:
        table = _TABLES.get(lists)
        if table is None:
            table = _TABLES.setdefault(lists, DutyTable(lists))
        return table
    except TypeError:  # an object that takes no weak reference: a table for this call only
        return DutyTable(lists)


def duty_entries(lists: Any, category: str) -> tuple[Any, ...] | None:
    """``lists.departments_for(category)`` as read by the table, or None for a category the lists do not
    know."""
    table = duty_table(lists)
    (row,), _ = table.prepare([category])
    return None if row < 0 else table._rows[row][1]


def default_level(department: str, lists: Any) -> str:
    """The level a department type works at when the duty list does not say (departments.yaml, else district)."""
    dept = lists.departments.get(department)
    return dept.level if dept is not None and dept.level else "district"


def _check(blend: float, temperature: float) -> None:
    if not 0.0 <= blend <= 1.0:
        raise ValueError(f"blend must be in [0, 1], got {blend}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")


def _combine(duty: np.ndarray, model: np.ndarray | None, blend: float, temperature: float) -> np.ndarray:
    """Row-wise ``(1 − w)·duty/Σduty + w·model/Σmodel``, sharpened by ``1/temperature``, normalised; ``w`` is
    ``blend`` where both sides have mass, else all weight on the side that has it. A row with no mass
    stays 0."""
    _check(blend, temperature)
    duty_total = duty.sum(axis=1)
    has_duty = duty_total > 0
    mixed = np.zeros_like(duty)
    if model is None:
        w = np.zeros(len(duty))
    else:
        model_total = model.sum(axis=1)
        has_model = model_total > 0
        w = np.where(has_model & has_duty, blend, np.where(has_model, 1.0, 0.0))
        safe = np.where(has_model, model_total, 1.0)
        mixed += np.where(has_model[:, None], w[:, None] * model / safe[:, None], 0.0)
    safe = np.where(has_duty, duty_total, 1.0)
    mixed = np.where(has_duty[:, None], (1 - w)[:, None] * duty / safe[:, None], 0.0) + mixed
    mixed = np.where(mixed > 0, mixed, 0.0)
    if temperature != 1.0:
        mixed = mixed ** (1.0 / temperature)
    total = mixed.sum(axis=1, keepdims=True)
    return np.divide(mixed, total, out=np.zeros_like(mixed), where=total > 0)


def _model_matrix(model_scores: Sequence[Mapping[str, float] | None]) -> tuple[np.ndarray, list[str]]:
    labels = list(dict.fromkeys(d for m in model_scores if m for d in m))
    column = {d: j for j, d in enumerate(labels)}
    out = np.zeros((len(model_scores), len(labels)))
    for i, m in enumerate(model_scores):
        for d, s in (m or {}).items():
            out[i, column[d]] = s
    return out, labels


def rank_departments_many(
    category_probs: Sequence[Mapping[str, float]],
    lists: Any,
    model: np.ndarray | Sequence[Mapping[str, float] | None] | None = None,
    model_labels: Sequence[str] | None = None,
    *,
    blend: float = 0.5,
    temperature: float = 1.0,
    reasons: bool = True,
    top_k: int | None = None,
    key_scores: Sequence[Mapping[str, float] | None] | None = None,
    responders: Sequence[Mapping[str, str] | None] | None = None,
    responder_weight: float = 0.5,
) -> list[list[RankedDepartment]]:
    """Department types best first (ties by name) for each row: the duty list through the row's category
    probabilities, blended with the department model's scores when given (an (n, L) array with
    ``model_labels``, or one mapping per row). Scores are over all types (``top_k`` only cuts the list).
    ``key_scores``: per row, the probability a reason shows for a key (default its mass). ``responders``: per
    row, the department types that act first on the hazard an urgent appeal names (type → the hazard's name,
    first the strongest), mixed in with ``responder_weight`` (:func:`mix_responders`)."""
    _check(blend, temperature)
    if not 0.0 <= responder_weight <= 1.0:
        raise ValueError(f"responder_weight must be in [0, 1], got {responder_weight}")
    n = len(category_probs)
    if model is not None and not isinstance(model, np.ndarray):
        model, model_labels = _model_matrix(model)
    table = duty_table(lists)
    keys = [k for probs in category_probs for k in probs]
    n_model = len(model_labels or ())
    responder_names = list(dict.fromkeys(d for r in responders or () if r for d in r))
    key_rows, columns = table.prepare(keys, [*(model_labels or ()), *responder_names])
    model_cols, responder_cols = columns[:n_model], dict(zip(responder_names, columns[n_model:], strict=True))
    weights, listed, level_ids, name_rank = table.arrays()
    n_depts = weights.shape[1]
    key_rows_arr = np.asarray(key_rows, np.int64)
    mass = np.fromiter((p for probs in category_probs for p in probs.values()), np.float64, len(keys))
    counts = [len(probs) for probs in category_probs]
    row_of = np.repeat(np.arange(n), counts)
    keep = key_rows_arr >= 0
    P = sp.csr_matrix((mass[keep], key_rows_arr[keep], np.r_[0, np.cumsum(np.bincount(row_of[keep], minlength=n))]),
                      shape=(n, weights.shape[0]))
    duty = np.asarray(P @ weights)
    model_full = None
    if model is not None:
        model_full = np.zeros((n, n_depts))
        model_full[:, model_cols] = np.asarray(model, np.float64)
    scores = _combine(duty, model_full, blend, temperature)
    if responder_cols:
        scores = mix_responders(scores, responders or (), responder_cols, responder_weight)
    order = np.lexsort((np.broadcast_to(name_rank, scores.shape), -scores), axis=-1)
    if top_k is not None:
        order = order[:, :top_k]
    top_scores = np.take_along_axis(scores, order, axis=1)
    levels = _levels(P, weights, listed, level_ids, order)
    out: list[list[RankedDepartment]] = []
    starts = np.r_[0, np.cumsum(counts)].tolist()
    for i, (row_order, row_scores, row_levels) in enumerate(
            zip(order.tolist(), top_scores.tolist(), levels.tolist(), strict=True)):
        ranked = []
        row_keys = (list(zip(category_probs[i], category_probs[i].values(), key_rows[starts[i]:starts[i + 1]],
                             strict=True)) if reasons else [])
        for c, score, lvl in zip(row_order, row_scores, row_levels, strict=True):
            if score <= 0:
                break
            dept = table.departments[c]
            why: tuple[str, ...] = ()
            if reasons:
                shown = key_scores[i] if key_scores is not None else None
                why = _reasons(weights, listed, row_keys, dept, c, shown or {},
                               0.0 if model_full is None else float(model_full[i, c]))
                hazard = (responders[i] or {}).get(dept) if responders is not None else None
                if hazard is not None:
                    why = (f"险情联动: {hazard} → {dept}", *why)
            ranked.append(RankedDepartment(dept, table.level_name(lvl) if lvl >= 0 else default_level(dept, lists),
                                           score, why))
        out.append(ranked)
    return out


def mix_responders(scores: np.ndarray, responders: Sequence[Mapping[str, str] | None], columns: Mapping[str, int],
                   weight: float) -> np.ndarray:
    """``(1 − weight)·scores + weight·share`` on the rows with responders, where ``share`` spreads 1 over the row's
    responders, the i-th weighing 1/i (normalised); a row whose scores are all 0 takes ``share`` alone. Rows
    without responders are returned as they are."""
    share = np.zeros_like(scores)
    for i, row in enumerate(responders):
        if row:
            w = 1.0 / np.arange(1, len(row) + 1)
            share[i, [columns[d] for d in row]] = w / w.sum()
    flagged = share.sum(axis=1) > 0
    empty = scores.sum(axis=1) <= 0
    mixed = np.where(empty[:, None], share, (1.0 - weight) * scores + weight * share)
    return np.where(flagged[:, None], mixed, scores)


def _levels(P: sp.csr_matrix, weights: np.ndarray, listed: np.ndarray, level_ids: np.ndarray,
            order: np.ndarray) -> np.ndarray:
    """Level id of each ranked department: that of its largest term P(key)·weight (the first such key),
    −1 where no key of the row lists it."""
    n = P.shape[0]
    width = int(np.diff(P.indptr).max()) if n and P.nnz else 0
    if width == 0:
        return np.full(order.shape, -1, np.int32)
    pad = weights.shape[0] - 1  # the empty row
    keys = np.full((n, width), pad, np.int64)
    mass = np.zeros((n, width))
    counts = np.diff(P.indptr)
    slot = np.arange(P.nnz) - np.repeat(P.indptr[:-1], counts)
    rows = np.repeat(np.arange(n), counts)
    keys[rows, slot], mass[rows, slot] = P.indices, P.data
    k, d = keys[:, :, None], order[:, None, :]
    terms = np.where(listed[k, d], mass[:, :, None] * weights[k, d], -np.inf)
    best = terms.argmax(axis=1)
    chosen = np.take_along_axis(keys, best, axis=1)
    return np.where(np.isfinite(terms.max(axis=1)), level_ids[chosen, order], -1)


def _reasons(weights: np.ndarray, listed: np.ndarray, keys: Sequence[tuple[str, float, int]], dept: str,
             column: int, shown: Mapping[str, float], model_score: float, k: int = 2) -> tuple[str, ...]:
    """The reasons for department ``column``: the duty-list keys (``(key, probability, table row)`` of the
    appeal) that weigh most towards it, and the department model's score."""
    terms = [(p * weights[r, column], key, p) for key, p, r in keys if r >= 0 and listed[r, column]]
    why = [f"职责清单: {c} ({shown.get(c, p):.2f}) → {dept}" for _, c, p in sorted(terms, reverse=True)[:k]
           if p >= 0.05]
    if model_score >= 0.05:
        why.append(f"部门模型: {model_score:.2f}")
    return tuple(why)


def rank_departments(
    category_probs: Mapping[str, float],
    lists: Any,
    model_scores: Mapping[str, float] | None = None,
    *,
    blend: float = 0.5,
    temperature: float = 1.0,
    reasons: bool = True,
    top_k: int | None = None,
    key_scores: Mapping[str, float] | None = None,
) -> list[RankedDepartment]:
    """:func:`rank_departments_many` for one appeal."""
    return rank_departments_many([category_probs], lists, None if model_scores is None else [model_scores],
                                 blend=blend, temperature=temperature, reasons=reasons, top_k=top_k,
                                 key_scores=None if key_scores is None else [key_scores])[0]


def duty_scores(category_probs: Mapping[str, float], lists: Any) -> tuple[dict[str, float], dict[str, str]]:
    """Σ_c P(c|text)·P(d|c) per department type listed for any of the categories, and each type's level
    (that of its largest term). Categories missing from the duty list are skipped (their probability
    mass is lost, not spread)."""
    table = duty_table(lists)
    rows, _ = table.prepare(list(category_probs))
    weights, listed, level_ids, _ = table.arrays()
    scores: dict[str, float] = {}
    levels: dict[str, str] = {}
    best: dict[str, float] = {}
    for (_, p), r in zip(category_probs.items(), rows, strict=True):
        if r < 0:
            continue
        for c in np.flatnonzero(listed[r]):
            dept, term = table.departments[c], p * weights[r, c]
            scores[dept] = scores.get(dept, 0.0) + term
            if dept not in best or term > best[dept]:
                best[dept], levels[dept] = term, table.level_name(int(level_ids[r, c]))
    return scores, levels


def combine_scores(
    duty: Mapping[str, float],
    model: Mapping[str, float] | None = None,
    *,
    blend: float = 0.5,
    temperature: float = 1.0,
) -> dict[str, float]:
    """``(1 − blend)·duty + blend·model`` over the union of types, sharpened by ``1/temperature`` and
    normalised to sum to 1; types scoring 0 are dropped. Without a model (or with an empty duty list) the
    other side is used alone."""
    names = list(dict.fromkeys([*duty, *(model or {})]))
    d = np.asarray([[duty.get(x, 0.0) for x in names]])
    m = None if model is None else np.asarray([[model.get(x, 0.0) for x in names]])
    scores = _combine(d, m, blend, temperature)[0]
    return {x: float(s) for x, s in zip(names, scores, strict=True) if s > 0}
