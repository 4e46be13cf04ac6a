"""The hand audit of the department head's held-out derived labels (``data/labels/departments/audit.csv``).

The department labels are derived from the official replies by rules (:mod:`minyi_nlp.routing.departments`), so
some are wrong. Every appeal of the department head's ``test`` split was read with its reply, and the derived type
judged ``correct``, ``wrong`` (with the type that did handle it) or ``unclear``. The audit only evaluates: it never
trains anything, and the ``test`` rows are never trained on either.

:func:`read_department_audit` validates the file (a :class:`DataError` names the row and field at fault);
:func:`audited_labels` gives each audited appeal its label after the audit (None: unclear).
"""

from __future__ import annotations

from collections.abc import Container
from pathlib import Path

import pandas as pd

from minyi_nlp.data.schema import DataError

VERDICTS: tuple[str, ...] = ("correct", "wrong", "unclear")
AUDIT_COLUMNS: tuple[str, ...] = ("id", "source", "derived", "rule", "verdict", "correct_label", "note")


def audit_path() -> Path:
    """``data/labels/departments/audit.csv`` of the project."""
    from minyi_nlp.config import get_settings

    return get_settings().data_dir / "labels" / "departments" / "audit.csv"


def read_department_audit(path: Path | None = None, *, departments: Container[str] | None = None) -> pd.DataFrame:
    """The audit, validated: verdicts, a ``correct_label`` exactly for ``wrong`` rows (a department type of
    ``departments`` when given), unique ids."""
    path = path or audit_path()
    if not path.is_file():
        raise DataError(f"{path}: department audit not found")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in AUDIT_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}")
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        where = f"{path.name}: row {i} (id {row.id!r})"
        if row.verdict not in VERDICTS:
            raise DataError(f"{where}: field 'verdict' must be one of {list(VERDICTS)}, got {row.verdict!r}")
        if (row.verdict == "wrong") != bool(row.correct_label):
            raise DataError(f"{where}: field 'correct_label' is given exactly when the verdict is 'wrong'")
        if row.correct_label and departments is not None and row.correct_label not in departments:
            raise DataError(f"{where}: field 'correct_label' {row.correct_label!r} is not a department type")
        if row.correct_label == row.derived:
            raise DataError(f"{where}: field 'correct_label' equals the derived label: the verdict is 'correct'")
    dup = frame["id"].duplicated(keep=False)
    if dup.any():
        raise DataError(f"{path}: duplicated ids {sorted(frame.loc[dup, 'id'].unique())[:5]}")
    return frame


def audited_labels(audit: pd.DataFrame) -> dict[str, str | None]:
    """id → the label after the audit: the derived one when ``correct``, the reader's when ``wrong``, None when
    ``unclear``."""
    out: dict[str, str | None] = {}
    for row in audit.itertuples(index=False):
        out[row.id] = row.derived if row.verdict == "correct" else (row.correct_label or None)
    return out
