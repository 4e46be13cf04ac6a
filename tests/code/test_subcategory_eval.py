"""Scoring sub-category predictions against hand labels: node ranking per level, top-k, 其他 shares."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.models.subcategory_eval import _read_predictions, evaluate, ranked_nodes

GAS = "城乡建设/城市建设和市政管理/燃气供应"
WATER = "城乡建设/城市建设和市政管理/自来水供应"


def _labels(paths: list[str], draws: list[str] | None = None) -> pd.DataFrame:
    return pd.DataFrame({
        "key": [f"k{i}" for i in range(len(paths))],
        "path": paths,
        "draw": draws or ["random"] * len(paths),
    })


def test_a_node_scores_its_own_entry_or_the_best_below_it() -> None:
    prediction = [(GAS, 0.5), (WATER, 0.3), ("环境保护/环境污染/噪音污染", 0.6)]
    assert ranked_nodes(prediction, 1) == ["环境保护", "城乡建设"]
    assert ranked_nodes(prediction, 2) == ["环境保护/环境污染", "城乡建设/城市建设和市政管理"]
    assert ranked_nodes(prediction, 3) == ["环境保护/环境污染/噪音污染", GAS, WATER]
    # an explicit parent entry counts when it is higher than its children
    assert ranked_nodes([*prediction, ("城乡建设", 0.8)], 1)[0] == "城乡建设"


def test_top1_top3_per_level_on_the_labels_that_reach_it() -> None:
    labels = _labels([GAS, "城乡建设/城市建设和市政管理", "政法", "其他"])
    predictions = {
        "k0": [(WATER, 0.6), (GAS, 0.4)],  # 一级/二级 right, 三级 second
        "k1": [(GAS, 0.9)],  # right down to 二级 (the label stops there)
        "k2": [("民政/社会救助", 0.7), ("政法/户籍证件", 0.2)],  # 一级 second
        "k3": [("其他", 1.0)],
    }
    report = evaluate(predictions, labels)["all"]
    assert report["appeals"] == 4
    assert report["l1"]["n"] == 4 and report["l1"]["top1_correct"] == 3 and report["l1"]["top3_correct"] == 4
    assert report["l2"]["n"] == 2 and report["l2"]["top1"] == 1.0
    assert report["l3"]["n"] == 1 and report["l3"]["top1"] == 0.0 and report["l3"]["top3"] == 1.0
    assert report["l1"]["predicted_other"] == 0.25 and report["l1"]["hand_labelled_other"] == 0.25


def test_a_missing_prediction_counts_as_wrong_and_is_reported() -> None:
    labels = _labels([GAS, GAS], ["random", "targeted"])
    report = evaluate({"k0": [(GAS, 1.0)]}, labels)
    assert report["all"]["l3"]["top1"] == 0.5 and report["all"]["l3"]["no_prediction"] == 1
    assert report["random_draw"]["l3"]["top1"] == 1.0
    assert report["targeted_draw"]["l3"]["top1"] == 0.0


def test_predictions_in_row_order_must_match_the_labels() -> None:
    with pytest.raises(ValueError, match="1 predictions for 2"):
        evaluate([[(GAS, 1.0)]], _labels([GAS, GAS]))


def test_a_bad_predictions_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    good = {"key": "k0", "subcategories": [{"path": GAS, "score": 0.9}]}
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n" + '{"key": "k1"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2"):
        _read_predictions(path)
    path.write_text(json.dumps(good, ensure_ascii=False) + "\n", encoding="utf-8")
    assert _read_predictions(path) == {"k0": [(GAS, 0.9)]}
