"""Label-noise analysis on a tiny synthetic set: flipped labels are flagged, reports are written, PII is masked."""

import json
import random

import pandas as pd
import pytest

from minyi_nlp.params import HeadParams, Params, with_overrides

PHONE = "13812345678"
VOCAB = {
    "交通运输": ["公交车", "地铁站", "红绿灯", "出租车", "道路拥堵", "站台", "线路", "司机"],
    "环境保护": ["噪音", "污水", "排放", "烟尘", "臭味", "垃圾焚烧", "废气", "河道污染"],
    "教育文体": ["学校", "老师", "学生", "学费", "幼儿园", "课程", "补课", "体育馆"],
}
FILLER = ["请", "尽快", "处理", "我们", "小区", "附近", "反映", "问题", "希望", "解决"]
FLIPPED = {0: "环境保护", 13: "教育文体"}  # row index -> wrong label


def _appeals() -> pd.DataFrame:
    rng = random.Random(0)
    rows = []
    for label, words in VOCAB.items():
        for i in range(12):
            text = "".join(rng.sample(words, 4) + rng.sample(FILLER, 3))
            rows.append({"text": text, "label": label, "fold": i % 4 - 1})  # folds -1, 0, 1, 2
    frame = pd.DataFrame(rows)
    frame.loc[0, "text"] = f"电话{PHONE}" + frame.loc[0, "text"]
    for i, wrong in FLIPPED.items():
        frame.loc[i, "label"] = wrong
    frame["id"] = [f"a{i}" for i in range(len(frame))]
    frame["source"] = ["teddy_fj2_raw" if f >= 0 else "teddy_fj2_segmented" for f in frame["fold"]]
    return frame


SMALL = HeadParams(calibration_cv=3)
SMALL_ENCODER = with_overrides(Params(), ["min_df=1", "max_features=null", "head_chars=0"])


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    from minyi_nlp.models.label_noise import run_label_noise

    out = tmp_path_factory.mktemp("reports")
    rep = run_label_noise(_appeals(), params=SMALL_ENCODER, train=SMALL, n_splits=3, out_dir=out, track=False)
    return rep, out


def test_flipped_labels_are_flagged(report):
    rep, _ = report
    flagged = {r["id"] for r in rep["flagged_ids"]}
    assert {f"a{i}" for i in FLIPPED} <= flagged
    assert rep["n_flagged"] <= 6
    suggested = {r["id"]: r["suggested"] for r in rep["flagged_ids"]}
    assert suggested["a0"] == "交通运输" and suggested["a13"] == "环境保护"


def test_report_keys_and_counts(report):
    rep, _ = report
    for key in ("n_appeals", "n_flagged", "share_flagged", "by_given_label", "by_source", "pairs", "sample",
                "experiment", "out_of_fold", "params", "command"):
        assert key in rep
    assert rep["n_appeals"] == 36
    assert sum(c["flagged"] for c in rep["by_source"].values()) == rep["n_flagged"]
    assert sum(c["n"] for c in rep["by_given_label"].values()) == 36
    assert {"given": "环境保护", "suggested": "交通运输", "n": 1} in rep["pairs"]
    summary = rep["experiment"]["summary"]
    assert {"baseline", "cleaned", "cleaned_minus_baseline"} <= set(summary)
    assert {"mean", "std"} == set(summary["cleaned"]["macro_f1"])
    folds = rep["experiment"]["folds"]
    assert [f["fold"] for f in folds] == [0, 1, 2]
    assert all(f["cleaned"]["n_train"] <= f["baseline"]["n_train"] for f in folds)
    assert rep["params"]["calibration_used"] == "temperature"


def test_sample_masks_pii(report):
    rep, _ = report
    row = next(r for r in rep["sample"] if r["id"] == "a0")
    assert PHONE not in row["excerpt"] and "<PHONE>" in row["excerpt"]
    assert len(row["excerpt"]) <= 80


def test_files_are_written(report):
    rep, out = report
    on_disk = json.loads((out / "label_noise.json").read_text(encoding="utf-8"))
    assert on_disk["n_flagged"] == rep["n_flagged"]
    md = (out / "label_noise.md").read_text(encoding="utf-8")
    assert "python -m minyi_nlp.models.label_noise" in md and "cleaned" in md and PHONE not in md


def test_rejected_calibration_falls_back():
    from minyi_nlp.models.label_noise import out_of_fold_proba, with_calibration

    frame = _appeals()
    proba, classes, used = out_of_fold_proba(
        frame["text"], frame["label"], with_calibration(SMALL, "no-such-method"), n_splits=3, fallback=SMALL,
        encoder=SMALL_ENCODER.encoder,
    )
    assert used == SMALL
    assert proba.shape == (36, 3) and classes == sorted(VOCAB)
