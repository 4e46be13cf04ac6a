"""Cross-validation building blocks on a tiny synthetic corpus (fast)."""

import pandas as pd
import pytest

from minyi_nlp.models.crossval import cv_report, fit_outside_fold, score_fold, summarize
from minyi_nlp.params import load_params

TEXTS = {
    "城乡建设": ["小区路灯不亮很久了", "楼道电梯坏了没人修", "小区违章搭建严重", "道路施工围挡占道"],
    "教育文体": ["孩子入学学位紧张", "学校乱收补课费", "幼儿园收费太高", "中考加分政策咨询"],
}


def _frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = [(t, label) for label, texts in TEXTS.items() for t in texts]
    appeals = pd.DataFrame({"id": [f"a{i}" for i in range(len(rows))], "source": "test",
                            "text": [t for t, _ in rows], "label": [lab for _, lab in rows],
                            "appeal": range(len(rows)), "fold": [i % 2 for i in range(len(rows))], "is_raw": True})
    return appeals, appeals.copy()


def _params():
    from minyi_nlp.params import with_overrides

    return with_overrides(load_params(), ["min_df=1", "calibration_cv=2", "head_chars=0", "n_jobs=1"])


def test_extra_rows_are_trained_on_and_scored_fold_is_left_out() -> None:
    appeals, copies = _frames()
    extra = pd.DataFrame({"text": ["医院挂号难排队久", "医保报销比例太低", "医院收费不透明", "药价太贵"],
                          "label": ["卫生计生"] * 4})
    clf, seconds = fit_outside_fold(appeals, _params(), 0, copies, extra=extra)
    assert "卫生计生" in set(clf.classes_) and seconds > 0
    line = score_fold(clf, appeals[appeals["fold"] == 0], 0, seconds, 5)
    assert line["fold"] == 0 and line["n"] == 4
    assert 0.0 <= line["macro_f1"] <= 1.0 and 0.0 <= line["ece"] <= 1.0

    plain, _ = fit_outside_fold(appeals, _params(), 0, copies)
    assert "卫生计生" not in set(plain.classes_)


def test_summarize_gives_mean_and_population_std() -> None:
    folds = [{"macro_f1": 0.9, "accuracy": 0.9, "top2_accuracy": 1.0, "ece": 0.02, "train_seconds": 1.0},
             {"macro_f1": 0.8, "accuracy": 0.7, "top2_accuracy": 1.0, "ece": 0.04, "train_seconds": 3.0}]
    s = summarize(folds)
    assert s["macro_f1"]["mean"] == pytest.approx(0.85) and s["macro_f1"]["std"] == pytest.approx(0.05)
    assert s["train_seconds"] == {"mean": 2.0, "std": 1.0}


def test_cv_report_carries_folds_summary_and_parameters() -> None:
    folds = [{"fold": 0, "macro_f1": 0.9, "accuracy": 0.9, "top2_accuracy": 1.0, "ece": 0.02, "train_seconds": 1.0}]
    report = cv_report(folds, _params(), train_share=0.5)
    assert report["folds"] == folds and report["summary"]["macro_f1"]["mean"] == pytest.approx(0.9)
    assert report["params"]["train_share"] == 0.5 and report["params"]["min_df"] == 1
    assert report["params"]["train_copies"] == _params().prepare.train_copies
