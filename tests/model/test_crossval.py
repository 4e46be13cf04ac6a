"""Cross-validation on the real prepared data: one fold, both training-row modes (slow)."""

import pandas as pd
import pytest

from minyi_nlp.models.crossval import cross_validate
from minyi_nlp.params import load_params
from minyi_nlp.prepare import APPEALS_FILE, COPIES_FILE

pytestmark = pytest.mark.slow


def test_one_fold_with_all_copies_and_temperature(prepared_dir):
    appeals = pd.read_parquet(prepared_dir / APPEALS_FILE)
    copies = pd.read_parquet(prepared_dir / COPIES_FILE)
    from minyi_nlp.params import with_overrides

    params = with_overrides(load_params(), ["calibration=temperature", "calibration_cv=3",
                                            "prepare.train_copies=all"])
    report = cross_validate(appeals, params, [1], copies)
    (fold,) = report["folds"]
    assert fold["fold"] == 1 and fold["n"] == int((appeals["fold"] == 1).sum())
    assert fold["macro_f1"] > 0.85 and fold["ece"] < 0.08
    assert report["params"]["train_copies"] == "all"
    assert report["params"]["calibration"] == "temperature"
    assert report["summary"]["macro_f1"]["std"] == 0.0
