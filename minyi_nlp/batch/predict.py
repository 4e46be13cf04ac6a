"""The batch prediction step: validated rows → output rows, through :meth:`Dispatcher.suggest_many`.

Both engines call :func:`predict_frame`; it is row-wise (a row's output does not depend on the
other rows of its batch), so any batching gives the same output.

:func:`predict_rows` wraps it for the job: if the dispatcher raises on a batch, the rows are retried
one by one and a row that still fails becomes a reject line (rule ``predict_error``) instead of
stopping a long job.

Output columns (:func:`output_schema`): ``id``, ``source`` (input file), ``row`` (record number in
it), ``category_1..k`` with ``category_i_score``, ``subcategory_1..k`` (``一级/二级[/三级]``) with
``subcategory_i_score`` (nulls without a sub-category head), ``department_1..k`` with
``department_i_jurisdiction`` and ``department_i_score`` (fewer than k departments → nulls), ``urgent``,
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


def predict_frame(dispatcher: Dispatcher, valid: pd.DataFrame, top_k: int) -> pa.Table:
    """Output rows for the valid rows of a chunk (columns ``id, source, row, title, content, category``)."""
    if valid.empty:
        return output_schema(top_k).empty_table()
    suggestions = dispatcher.suggest_many(_pairs(valid), explain=False, reasons=False)
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
            suggestions.append(dispatcher.suggest_many([pair], explain=False, reasons=False)[0])
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
    cols: dict[str, list[Any]] = {name: [] for name in schema.names}
    cols["id"] = [str(v) for v in valid["id"].tolist()]
    cols["source"] = [str(v) for v in valid["source"].tolist()]
    cols["row"] = [int(v) for v in valid["row"].tolist()]
    previous = [_text(v) for v in valid["category"].tolist()]
    for s, prev in zip(suggestions, previous, strict=True):
        for i in range(top_k):
            cat = s.categories[i] if i < len(s.categories) else None
            cols[f"category_{i + 1}"].append(cat.label if cat else None)
            cols[f"category_{i + 1}_score"].append(cat.score if cat else None)
            sub = s.subcategories[i] if i < len(s.subcategories) else None
            cols[f"subcategory_{i + 1}"].append(sub.path if sub else None)
            cols[f"subcategory_{i + 1}_score"].append(sub.score if sub else None)
            dep = s.departments[i] if i < len(s.departments) else None
            cols[f"department_{i + 1}"].append(dep.department if dep else None)
            cols[f"department_{i + 1}_jurisdiction"].append(dep.jurisdiction if dep else None)
            cols[f"department_{i + 1}_score"].append(dep.score if dep else None)
        cols["urgent"].append(bool(s.urgent))
        cols["urgency_score"].append(s.urgency.score if s.urgency is not None else None)
        cols["urgency_hazards"].append("、".join(s.urgency.hazards) or None if s.urgency is not None else None)
        cols["needs_review"].append(bool(s.needs_review))
        cols["review_reasons"].append("; ".join(s.review_reasons) or None)
        cols["model_version"].append(s.model_version)
        cols["previous_category"].append(prev)
        top = s.categories[0].label if s.categories else None
        cols["changed"].append(None if prev is None else prev != top)
    return pa.table(cols, schema=schema)
