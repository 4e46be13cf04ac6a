"""The hand audit of the held-out derived department labels: validation, labels after the audit, figures."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from minyi_nlp.data.department_audit import AUDIT_COLUMNS, audited_labels, read_department_audit
from minyi_nlp.data.schema import DataError
from minyi_nlp.dispatch.evaluate import audited_metrics
from minyi_nlp.dispatch.ranking import RankedDepartment

TYPES = {"住房和城乡建设局", "街道办事处", "公安局", "交警", "区县人民政府"}


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, AUDIT_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({"source": "teddy_fj4", "rule": "signature", "note": "", "correct_label": "", **r})
    return path


ROWS = [
    {"id": "a", "derived": "住房和城乡建设局", "verdict": "correct"},
    {"id": "b", "derived": "住房和城乡建设局", "verdict": "wrong", "correct_label": "街道办事处"},
    {"id": "c", "derived": "公安局", "verdict": "unclear"},
    {"id": "d", "derived": "交警", "verdict": "correct"},
    {"id": "f", "derived": "公安局", "verdict": "wrong", "correct_label": "区县人民政府"},
]


def test_the_audit_is_read_and_gives_each_appeal_its_label(tmp_path: Path) -> None:
    audit = read_department_audit(_write(tmp_path / "audit.csv", ROWS), departments=TYPES)
    assert audited_labels(audit) == {"a": "住房和城乡建设局", "b": "街道办事处", "c": None, "d": "交警",
                                     "f": "区县人民政府"}


@pytest.mark.parametrize(("change", "message"), [
    ({"verdict": "maybe"}, r"row 1 \(id 'a'\): field 'verdict'"),
    ({"verdict": "wrong"}, r"row 1 \(id 'a'\): field 'correct_label' is given exactly when"),
    ({"correct_label": "公安局"}, r"row 1 \(id 'a'\): field 'correct_label' is given exactly when"),
    ({"verdict": "wrong", "correct_label": "外星局"}, r"row 1 \(id 'a'\): field 'correct_label' '外星局' is not"),
    ({"verdict": "wrong", "correct_label": "住房和城乡建设局"}, r"equals the derived label"),
    ({"id": "b"}, r"duplicated ids \['b'\]"),
])
def test_a_bad_row_is_named(tmp_path: Path, change: dict[str, str], message: str) -> None:
    path = _write(tmp_path / "audit.csv", [{**ROWS[0], **change}, *ROWS[1:]])
    with pytest.raises(DataError, match=message):
        read_department_audit(path, departments=TYPES)


def test_figures_on_the_confirmed_rows_and_on_the_labels_after_the_audit(tmp_path: Path) -> None:
    audit = read_department_audit(_write(tmp_path / "audit.csv", ROWS), departments=TYPES)

    def ranking(*names: str) -> list[RankedDepartment]:
        return [RankedDepartment(n, "district", 1.0 - 0.1 * k) for k, n in enumerate(names)]

    ids = ["a", "b", "c", "d", "e", "f"]  # e: not audited
    derived = ["住房和城乡建设局", "住房和城乡建设局", "公安局", "交警", "公安局", "公安局"]
    model = [ranking("住房和城乡建设局"), ranking("街道办事处", "住房和城乡建设局"), ranking("公安局"),
             ranking("公安局", "街道办事处", "住房和城乡建设局", "交警"), ranking("公安局"), ranking("公安局")]
    out = audited_metrics(ids, {"model": model}, derived, audit, generic={"区县人民政府"})
    assert out["audited"] == 5 and out["not_audited"] == 1
    assert out["verdicts"] == {"correct": 2, "wrong": 2, "unclear": 1}
    assert out["handled_by_a_generic_office"] == 1  # f: left out of the labels after the audit, as derived ones are
    assert out["derived_label_precision"] == pytest.approx(2 / 4, abs=1e-4)
    # confirmed rows a and d: a right at 1, d ranked 4th
    assert out["confirmed"]["model"]["n"] == 2
    assert out["confirmed"]["model"]["top1"] == 0.5 and out["confirmed"]["model"]["top3"] == 0.5
    # after the audit: a (right), b now 街道办事处 (right at 1), d (4th); c unclear is left out
    assert out["audited_labels"]["model"]["n"] == 3
    assert out["audited_labels"]["model"]["top1"] == pytest.approx(2 / 3)
