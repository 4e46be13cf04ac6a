"""Urgency data: the hand-labelled set's schema and provenance, candidate draws and weak labels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from minyi_nlp.data import DataError, LoadResult
from minyi_nlp.data.urgency_labels import (
    LABEL_COLUMNS,
    POOL_SOURCES,
    STRATA,
    draw_candidates,
    labels_path,
    lexicon_stratum,
    read_urgency_labels,
    weak_labels,
)
from minyi_nlp.data.validate import content_key
from minyi_nlp.text import preprocess


@pytest.fixture(scope="module")
def labels() -> pd.DataFrame:
    return read_urgency_labels()


@pytest.fixture(scope="module")
def design() -> dict:
    return json.loads(labels_path().with_name("design.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- the committed label file


def test_label_file_schema_and_size(labels: pd.DataFrame) -> None:
    assert list(labels.columns) == list(LABEL_COLUMNS)
    assert labels["id"].is_unique
    assert (labels["urgent"] == 1).sum() >= 100
    assert (labels["urgent"] == 0).sum() >= 400
    assert set(labels["source"]) <= set(POOL_SOURCES)
    assert set(labels["stratum"]) <= set(STRATA)
    assert set(labels["draw"]) <= {"random", *STRATA}
    # a stratum draw only picks appeals of that stratum
    drawn = labels[labels["draw"] != "random"]
    assert (drawn["draw"] == drawn["stratum"]).all()
    assert labels.loc[labels["urgent"] == 1, "note"].str.len().gt(0).all()


def test_design_matches_labels(labels: pd.DataFrame, design: dict) -> None:
    sizes = design["stratum_sizes"]
    assert sum(sizes.values()) == design["pool_size"] == sum(design["pool_sources"].values())
    counts = labels["stratum"].value_counts()
    for stratum in STRATA:
        assert 0 < counts.get(stratum, 0) <= sizes[stratum]
    for entry in design["rounds"]:
        in_round = labels[labels["round"] == entry["round"]]
        assert in_round["draw"].value_counts().to_dict() == entry["sizes"]
    assert labels_path().with_name(design["lexicon_file"]).is_file()


def test_teddy_eval_flag_only_on_raw_fj2(labels: pd.DataFrame) -> None:
    flagged = labels[labels["teddy_eval"]]
    assert len(flagged) > 0
    assert (flagged["source"] == "teddy_fj2_raw").all()


def test_labelled_text_is_the_masked_raw_row(labels: pd.DataFrame, loaded: dict[str, LoadResult]) -> None:
    """Every labelled appeal is that row of that raw file, stored only as preprocessed (masked) text."""
    for source, part in labels.groupby("source"):
        frame = loaded[source].frame.set_index("row")
        for row in part.itertuples(index=False):
            raw = frame.loc[row.row]
            assert str(raw["id"]) == row.id
            composed = " ".join(p.strip() for p in (raw["title"], raw["content"]) if isinstance(p, str) and p.strip())
            assert preprocess(composed) == row.text, (source, row.row)


def _write(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "labels.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("urgent", 2, "field 'urgent'"),
        ("source", "weibo", "field 'source'"),
        ("stratum", "hot", "field 'stratum'"),
        ("text", "请联系我13812345678，燃气泄漏", "field 'text' is not preprocessed"),
    ],
)
def test_bad_label_rows_are_named(tmp_path: Path, labels: pd.DataFrame, column: str, value: object,
                                  message: str) -> None:
    frame = labels.head(5).copy()
    frame[column] = frame[column].astype(object)
    frame.loc[2, column] = value
    with pytest.raises(DataError, match=rf"row 3 \(id .*\): {message}"):
        read_urgency_labels(_write(tmp_path, frame))


def test_duplicated_ids_and_missing_columns_are_rejected(tmp_path: Path, labels: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="duplicated ids"):
        read_urgency_labels(_write(tmp_path, pd.concat([labels.head(3), labels.head(1)])))
    with pytest.raises(DataError, match="missing columns"):
        read_urgency_labels(_write(tmp_path, labels.head(3).drop(columns=["stratum"])))


# ----------------------------------------------------------------------------- draws and weak labels


def _toy_pool(n: int = 200) -> pd.DataFrame:
    texts = [f"第{i}号诉求：" + ("燃气泄漏" if i % 10 == 0 else "小区有安全隐患" if i % 10 == 1 else "路灯不亮")
             for i in range(n)]
    return pd.DataFrame({"id": [str(i) for i in range(n)], "source": "toy", "row": range(1, n + 1), "text": texts,
                         "key": [content_key(t, t) for t in texts]})


def test_lexicon_stratum_partitions() -> None:
    strata = lexicon_stratum(["a", "b", "危险", "d"], [0.9, 0.2, 0.0, 0.0], [True, True, False, False], 0.5)
    assert strata == ["flagged", "weak_hit", "risk_word", "other"]


def test_draw_candidates_sizes_and_reproducibility() -> None:
    pool = _toy_pool()
    strata = ["flagged" if i % 10 == 0 else "risk_word" if i % 10 == 1 else "other" for i in range(len(pool))]
    sizes = {"random": 30, "flagged": 5, "risk_word": 7}
    drawn = draw_candidates(pool, strata, sizes, seed=1)
    assert drawn["id"].is_unique
    assert (drawn["draw"] == "random").sum() == 30
    assert (drawn["draw"] == "flagged").sum() == 5 and (drawn["draw"] == "risk_word").sum() == 7
    assert (drawn.loc[drawn["draw"] != "random", "draw"] == drawn.loc[drawn["draw"] != "random", "stratum"]).all()
    again = draw_candidates(pool, strata, sizes, seed=1)
    assert drawn["id"].tolist() == again["id"].tolist()
    assert drawn["id"].tolist() != sorted(drawn["id"].tolist(), key=int)  # shuffled
    with pytest.raises(ValueError, match="unknown draw sizes"):
        draw_candidates(pool, strata, {"hot": 3}, seed=1)


def test_weak_labels_rules_and_exclusions() -> None:
    pool = _toy_pool()
    scores = np.where(np.arange(len(pool)) % 10 == 0, 0.95, 0.0)
    scores[20] = 0.6
    any_hit = scores > 0
    any_hit[2] = True  # a weak hit in a negative context → hard negative
    negative = np.zeros(len(pool), bool)
    negative[2] = True
    excluded = {pool.loc[0, "key"], pool.loc[10, "key"]}
    weak = weak_labels(pool, scores, any_hit, flag_at=0.5, exclude_keys=excluded, negative_context=negative,
                       negatives_per_positive=2)
    assert list(weak.columns) == ["id", "source", "text", "urgent", "rule", "confidence"]
    assert not set(weak["id"]) & {"0", "10"}
    rules = weak.set_index("id")["rule"]
    assert rules["30"] == "lexicon_strong" and rules["20"] == "lexicon_flag"
    assert rules["2"] == "hazard_in_negative_context"
    positives = (weak["urgent"] == 1).sum()
    assert positives == 18  # 20 strong/flag rows minus the two excluded
    assert (weak["rule"] == "no_hazard").sum() == 2 * positives
    assert weak.loc[weak["urgent"] == 0, "text"].str.contains("燃气泄漏").sum() == 0
    cued = np.zeros(len(pool), bool)
    scores[[3, 4]] = 0.2  # a damped strong hit (cue) and a weak word: both negatives, never positives
    any_hit[[3, 4]] = True
    cued[3] = True
    hard = weak_labels(pool, scores, any_hit, flag_at=0.5, exclude_keys=excluded, negative_context=negative,
                       cued=cued).set_index("id")["rule"]
    assert hard["3"] == "hazard_not_present" and hard["2"] == "hazard_in_negative_context"
    assert hard.get("4", "weak_hit_only") == "weak_hit_only"  # sampled: present or not, never a positive
    assert (hard == "weak_hit_only").sum() <= (weak["urgent"] == 1).sum()
    with_category = weak_labels(pool, np.zeros(len(pool)), np.zeros(len(pool), bool), flag_at=0.5,
                                exclude_keys=set(), urgent_category=np.arange(len(pool)) == 5)
    assert with_category.set_index("id").loc["5", "rule"] == "sla_urgent_category"


def test_hand_read_rows_replace_the_rules_for_their_texts() -> None:
    pool = _toy_pool()
    scores = np.where(np.arange(len(pool)) % 10 == 0, 0.95, 0.0)
    read = pool.iloc[[10, 20]][["id", "source", "text"]].assign(urgent=[0, 1])
    weak = weak_labels(pool, scores, scores > 0, flag_at=0.5, exclude_keys={pool.loc[0, "key"]}, read=read,
                       negatives_per_positive=1)
    rules = weak.set_index("id")
    assert rules.loc["10", "rule"] == "hand_read" and rules.loc["10", "urgent"] == 0  # read: not urgent after all
    assert rules.loc["20", "urgent"] == 1 and (weak["id"] == "10").sum() == 1
    assert "0" not in set(weak["id"])  # the evaluation set stays out


def test_training_labels_are_valid_and_apart_from_the_evaluation_set() -> None:
    from minyi_nlp.data.urgency_labels import read_training_labels, read_urgency_labels
    from minyi_nlp.data.validate import content_key

    train = read_training_labels()
    assert len(train) >= 200 and train["urgent"].sum() >= 40
    evaluation = {content_key(t, t) for t in read_urgency_labels()["text"]}
    assert not {content_key(t, t) for t in train["text"]} & evaluation
