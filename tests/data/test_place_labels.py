"""The hand-labelled places: well-formed, every row in the raw data, and the extraction above its floor."""

from __future__ import annotations

from pathlib import Path

import pytest

from minyi_nlp.routing.place_eval import LABELS_FILE, evaluate, read_labels


def test_labels_cover_both_sources_once() -> None:
    labels = read_labels()
    assert len(labels) >= 300
    assert {lab.source for lab in labels} == {"teddy_fj4", "shangluo"}
    assert len({(lab.source, lab.id) for lab in labels}) == len(labels)
    assert all(not lab.street or lab.street.endswith(("街道", "镇", "乡")) for lab in labels)


def test_place_of_the_matter_is_found_at_district_level() -> None:
    report = evaluate()  # raises KeyError if a labelled id is not in data/raw
    assert report["all"]["n"] == len(read_labels())
    assert report["all"]["district_accuracy"] >= 0.9
    assert report["all"]["street_accuracy"] <= report["all"]["district_accuracy"]


def test_a_bad_label_row_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "places.csv"
    head = LABELS_FILE.read_text(encoding="utf-8").splitlines()[:3]
    bad.write_text("\n".join([*head, "weibo,1,,A3区,,"]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 4: field 'source'"):
        read_labels(bad)
