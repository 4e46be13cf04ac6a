"""The batch prediction step: validated rows → output rows, through :meth:`Dispatcher.suggest_many`.

Both engines call :func:`predict_frame`; it is row-wise (a row's output does not depend on the
other rows of its batch), so any batching gives the same output.

:func:`predict_rows` wraps it for the job: if the dispatcher raises on a batch, the rows are retried
one by one and a row that still fails becomes a reject line (rule ``predict_error``) instead of
stopping a long job.

Output columns (:func:`output_schema`): ``id``, ``source`` (input file), ``row`` (record number in
it), ``category_1..k`` with ``category_i_score``, ``subcategory_1..k`` (``一级/二级[/三级]``) with
``subcategory_i_score`` (nulls without a sub-category head), ``department_1..k`` with
``department_i_jurisdiction`` and ``department_i_score`` (fewer than k departments → nulls), ``appeal_type``
with ``appeal_type_score`` (投诉/咨询/建议/举报/求助; nulls without an appeal-type head), ``jurisdiction`` (the place
of the matter, e.g. ``A3区洋湖街道`` or ``B9市阳三街道``; the default city when the text names none), ``urgent``,
``urgency_score``, ``urgency_hazards`` (hazard names joined with ``"、"``, null if none; no ``due_at``: a
re-classified row has no time of receipt, and the output must not depend on when the job ran),
``needs_review``, ``review_reasons``
(joined with ``"; "``), ``model_version``, ``previous_category`` (the input's ``category``, null if
none) and ``changed`` (``category_1 != previous_category``; null where there is no previous label).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from minyi_nlp.dispatch import Dispatcher, Suggestion

logger = logging.getLogger(__name__)

#: columns of the reject lines for rows the dispatcher failed on
ERROR_COLUMNS: tuple[str, ...] = ("source", "row", "rule", "field", "reason", "id")


def output_schema(top_k: int) -> pa.Schema:
    """Arrow schema of the output for ``top_k`` categories and departments."""
    fields: list[pa.Field] = [
        pa.field("id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("row", pa.int64()),
    ]
    for i in range(1, top_k + 1):
        fields += [pa.field(f"category_{i}", pa.string()), pa.field(f"category_{i}_score", pa.float64())]
    for i in range(1, top_k + 1):
        fields += [pa.field(f"subcategory_{i}", pa.string()), pa.field(f"subcategory_{i}_score", pa.float64())]
    for i in range(1, top_k + 1):
        fields += [
            pa.field(f"department_{i}", pa.string()),
            pa.field(f"department_{i}_jurisdiction", pa.string()),
            pa.field(f"department_{i}_score", pa.float64()),
        ]
    fields += [
        pa.field("appeal_type", pa.string()),
        pa.field("appeal_type_score", pa.float64()),
        pa.field("jurisdiction", pa.string()),
        pa.field("urgent", pa.bool_()),
        pa.field("urgency_score", pa.float64()),
        pa.field("urgency_hazards", pa.string()),
        pa.field("needs_review", pa.bool_()),
        pa.field("review_reasons", pa.string()),
        pa.field("model_version", pa.string()),
        pa.field("previous_category", pa.string()),
        pa.field("changed", pa.bool_()),
    ]
    return pa.schema(fields)


def _text(value: Any) -> str | None:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value)


def ready_for_batches(dispatcher: Dispatcher) -> None:
    """Set up a process that loaded ``dispatcher`` for itself to predict batch after batch: its linear heads
    scored by one product per batch (:meth:`~minyi_nlp.models.bundle.Bundle.fuse_linear_heads`, the same
    scores) and the loaded model kept out of the garbage collector's walks (:func:`freeze_loaded`)."""
    from minyi_nlp.batch.gc_tuning import freeze_loaded

    dispatcher.bundle.fuse_linear_heads()
    freeze_loaded()


def predict_frame(dispatcher: Dispatcher, valid: pd.DataFrame, top_k: int) -> pa.Table:
    """Output rows for the valid rows of a chunk (columns ``id, source, row, title, content, category``)."""
    if valid.empty:
        return output_schema(top_k).empty_table()
    suggestions = dispatcher.suggest_many(_pairs(valid), explain=False, reasons=False, deadlines=False)
    return _table(valid, suggestions, top_k)


def predict_rows(dispatcher: Dispatcher, valid: pd.DataFrame, top_k: int) -> tuple[pa.Table, pd.DataFrame]:
    """:func:`predict_frame`, isolating rows the dispatcher raises on: ``(output rows, reject lines)``."""
    try:
        return predict_frame(dispatcher, valid, top_k), error_frame([], [], [], [])
    except Exception as err:  # any failure of the model code on some row
        logger.warning("dispatcher failed on a batch of %d rows (%s); retrying row by row", len(valid), err)
    pairs = _pairs(valid)
    ok: list[int] = []
    suggestions: list[Suggestion] = []
    failed: list[tuple[int, str]] = []
    for i, pair in enumerate(pairs):
        try:
            suggestions.append(dispatcher.suggest_many([pair], explain=False, reasons=False, deadlines=False)[0])
            ok.append(i)
        except Exception as err:
            failed.append((i, f"{type(err).__name__}: {err}"[:500]))
    bad = valid.iloc[[i for i, _ in failed]]
    errors = error_frame(
        bad["source"].tolist(), bad["row"].tolist(), bad["id"].tolist(), [reason for _, reason in failed]
    )
    return _table(valid.iloc[ok], suggestions, top_k), errors


def error_frame(sources: list[Any], rows: list[Any], ids: list[Any], reasons: list[str]) -> pd.DataFrame:
    """Reject lines (``ERROR_COLUMNS``) for rows that could not be predicted."""
    return pd.DataFrame(
        {
            "source": pd.Series([str(s) for s in sources], dtype="string"),
            "row": pd.Series([int(r) for r in rows], dtype="int64"),
            "rule": pd.Series(["predict_error"] * len(reasons), dtype="string"),
            "field": pd.Series(["content"] * len(reasons), dtype="string"),
            "reason": pd.Series(reasons, dtype="string"),
            "id": pd.Series([str(i) for i in ids], dtype="string"),
        }
    )


def _pairs(valid: pd.DataFrame) -> list[tuple[str | None, str]]:
    titles = [_text(t) for t in valid["title"].tolist()]
    contents = [str(c) for c in valid["content"].tolist()]
    return list(zip(titles, contents, strict=True))


def _table(valid: pd.DataFrame, suggestions: list[Suggestion], top_k: int) -> pa.Table:
    schema = output_schema(top_k)
    cols: dict[str, list[Any]] = {
        "id": [str(v) for v in valid["id"].tolist()],
        "source": [str(v) for v in valid["source"].tolist()],
        "row": [int(v) for v in valid["row"].tolist()],
    }
    previous = [_text(v) for v in valid["category"].tolist()]
    cats = [s.categories for s in suggestions]
    subs = [s.subcategories for s in suggestions]
    deps = [s.departments for s in suggestions]
    for i in range(top_k):  # column by column: one list comprehension each
        n = i + 1
        cat = [c[i] if i < len(c) else None for c in cats]
        cols[f"category_{n}"] = [c and c.label for c in cat]
        cols[f"category_{n}_score"] = [c and c.score for c in cat]
        sub = [c[i] if i < len(c) else None for c in subs]
        cols[f"subcategory_{n}"] = [c and c.path for c in sub]
        cols[f"subcategory_{n}_score"] = [c and c.score for c in sub]
        dep = [c[i] if i < len(c) else None for c in deps]
        cols[f"department_{n}"] = [c and c.department for c in dep]
        cols[f"department_{n}_jurisdiction"] = [c and c.jurisdiction for c in dep]
        cols[f"department_{n}_score"] = [c and c.score for c in dep]
    cols["appeal_type"] = [s.appeal_type for s in suggestions]
    cols["appeal_type_score"] = [s.appeal_type_score for s in suggestions]
    cols["jurisdiction"] = [s.jurisdiction for s in suggestions]
    urg = [s.urgency for s in suggestions]
    cols["urgent"] = [bool(s.urgent) for s in suggestions]
    cols["urgency_score"] = [None if u is None else u.score for u in urg]
    cols["urgency_hazards"] = [None if u is None else "、".join(u.hazards) or None for u in urg]
    cols["needs_review"] = [bool(s.needs_review) for s in suggestions]
    cols["review_reasons"] = ["; ".join(s.review_reasons) or None for s in suggestions]
    cols["model_version"] = [s.model_version for s in suggestions]
    cols["previous_category"] = previous
    cols["changed"] = [None if prev is None else prev != (c[0].label if c else None)
                       for prev, c in zip(previous, cats, strict=True)]
    return pa.table({name: cols[name] for name in schema.names}, schema=schema)
