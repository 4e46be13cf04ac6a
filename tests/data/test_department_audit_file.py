"""The committed department audit: it reads, it covers the derived labels it audits, and it holds no text."""

from __future__ import annotations

import pandas as pd

from minyi_nlp.data.department_audit import AUDIT_COLUMNS, audit_path, read_department_audit
from minyi_nlp.data.tasks import load_department_data
from minyi_nlp.routing import load_lists


def test_the_audit_reads_and_matches_the_derived_labels() -> None:
    lists = load_lists()
    audit = read_department_audit(departments=lists.departments)
    assert len(audit) == 281 and set(AUDIT_COLUMNS) <= set(audit.columns)
    assert set(audit["verdict"]) == {"correct", "wrong", "unclear"}
    assert set(audit["reader"]) == {"r1", "r2", "r3"}
    derived = load_department_data(lists=lists).set_index("id")
    assert audit["id"].isin(derived.index).all()
    # each row audits the label the rules derive today, and none of them is a generic office
    rows = derived.loc[audit["id"]]
    assert (rows["label"].to_numpy() == audit["derived"].to_numpy()).all()
    assert not rows["generic"].any()


def test_the_audit_file_holds_no_appeal_text() -> None:
    frame = pd.read_csv(audit_path(), dtype=str, keep_default_na=False)
    assert "text" not in frame.columns and frame["note"].str.len().max() <= 80
