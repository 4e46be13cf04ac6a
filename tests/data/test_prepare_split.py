"""The prepare stage: one row per appeal, every copy tagged with its appeal, no copy across the split."""

import pandas as pd

from minyi_nlp.prepare import COPIES_FILE, EVAL_FILE, PreparedData


def _load(prepared_dir) -> PreparedData:
    return PreparedData.read(prepared_dir)


def test_every_copy_belongs_to_one_appeal_with_its_label_and_fold(prepared_dir):
    data = _load(prepared_dir)
    appeals, copies = data.appeals, data.copies
    assert list(appeals["appeal"]) == list(range(len(appeals)))
    assert set(copies["appeal"]) == set(appeals["appeal"])
    assert len(copies) >= len(appeals)
    merged = copies.merge(appeals[["appeal", "label", "fold", "copies"]], on="appeal", suffixes=("", "_appeal"))
    assert (merged["label"] == merged["label_appeal"]).all()
    assert (merged["fold"] == merged["fold_appeal"]).all()
    assert (copies.groupby("appeal").size() == appeals.set_index("appeal")["copies"]).all()


def test_no_copy_of_an_evaluation_appeal_is_trained_on(prepared_dir):
    data = _load(prepared_dir)
    evaluation = pd.read_parquet(prepared_dir / EVAL_FILE)
    for mode in ("one", "all"):
        train, ev = data.train_eval(0, mode)
        assert not set(train["appeal"]) & set(ev["appeal"])
        assert set(ev["appeal"]) == set(evaluation["appeal"])
        assert ev["is_raw"].all()
    one, _ = data.train_eval(0, "one")
    everything, _ = data.train_eval(0, "all")
    assert len(everything) > len(one)
    assert set(everything["appeal"]) == set(one["appeal"])


def test_copies_are_masked_like_the_appeals(prepared_dir):
    copies = pd.read_parquet(prepared_dir / COPIES_FILE)
    # an 11-digit mobile number on its own (not part of a longer number or a decimal such as 18112525462.26)
    mobile = r"(?<![\d.])1[3-9]\d{9}(?![\d.])"
    assert not copies["text"].str.contains(mobile, regex=True).any()
