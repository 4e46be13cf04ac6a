"""Department evaluation without models: label normalisation, rejects, top-k maths, blend tuning."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from minyi_nlp.dispatch import RankedDepartment
from minyi_nlp.dispatch.evaluate import (
    load_department_labels,
    normalise_labels,
    ranking_metrics,
    route_hits,
    tune_blend,
)


def test_raw_unit_names_become_department_types_with_their_place():
    out = normalise_labels(["商洛市公安局交警支队", "A7县教育局", "Ａ３区住建局", "市信息办", "张三", None])
    assert out[0] == ("交警", "商洛市", "ok")
    assert out[1] == ("教育局", "A7县", "ok")
    assert out[2][:2] == ("住房和城乡建设局", "A3区")  # full-width input is normalised first
    assert out[3][2] == "generic"
    assert out[4] == (None, None, "unknown")
    assert out[5] == (None, None, "unknown")


def test_labelled_file_rejects_unknown_and_generic_labels(tmp_path):
    path = tmp_path / "eval.csv"
    pd.DataFrame(
        {
            "text": ["A7县某学校乱收费", "路灯不亮", "垃圾没人清理", "", "公交车不进站"],
            "department": ["A7县教育局", "商洛市信息办", "王五", "A3区城管局", "市交通运输局"],
        }
    ).to_csv(path, index=False)
    frame, counts = load_department_labels(path, text_col="text", label_col="department")
    assert frame["label"].tolist() == ["教育局", "交通运输局"]
    assert frame["jurisdiction"].tolist()[0] == "A7县"
    assert counts["rejected"] == 1  # the empty text, rejected by the loader
    assert counts["rejected_unknown_department"] == 1 and counts["excluded_generic_office"] == 1
    rejects = pd.read_csv(tmp_path / "eval.rejects.csv")
    assert set(rejects["rule"]) >= {"department_unknown", "department_generic"}
    assert "王五" in set(rejects["department"].dropna())


def _r(*names_scores: tuple[str, float], level: str = "district") -> list[RankedDepartment]:
    return [RankedDepartment(n, level, s) for n, s in names_scores]


def test_ranking_metrics_by_hand():
    ranked = [_r(("A", 0.6), ("B", 0.3), ("C", 0.1)), _r(("B", 0.5), ("C", 0.3), ("A", 0.2)),
              _r(("C", 0.9), ("B", 0.1)), _r(("B", 0.7), ("C", 0.2), ("D", 0.05), ("E", 0.05))]
    m = ranking_metrics(ranked, ["A", "A", "A", "E"])
    assert m["n"] == 4
    assert m["top1"] == pytest.approx(0.25)
    assert m["top3"] == pytest.approx(0.5)
    assert m["top5"] == pytest.approx(0.75)
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 0 + 1 / 4) / 4)
    assert m["log_loss"] == pytest.approx(-(math.log(0.6) + math.log(0.2) + math.log(1e-4) + math.log(0.05)) / 4)
    with pytest.raises(ValueError):
        ranking_metrics([], [])


class _Lists:
    from minyi_nlp.routing.lists import DutyEntry as _E

    duty = {"c1": [_E("A", 1.0, "district")], "c2": [_E("B", 1.0, "district")]}
    departments: dict = {}

    def departments_for(self, c):
        if c not in self.duty:
            raise KeyError(c)
        return self.duty[c]


def test_tune_blend_prefers_the_side_that_is_right():
    # the category side always says A, the model is right (C) on every row: the best blend leans on the model
    lists = _Lists()
    cats = [{"c1": 1.0}] * 6
    model = [{"C": 0.7, "A": 0.3}] * 6
    t = tune_blend(cats, model, ["C"] * 6, lists, grid=4)
    assert t["blend"] >= 0.75
    assert t["val_top1"] == 1.0
    assert len(t["curve"]) == 5 and t["temperature"] > 0
    # … and towards the duty list when the category side is the one that is right
    t = tune_blend(cats, model, ["A"] * 6, lists, grid=4)
    assert t["blend"] <= 0.25


def test_route_hits_need_the_right_place():
    ranked = [_r(("教育局", 0.8), ("住房和城乡建设局", 0.2)), _r(("教育局", 0.8))]
    texts = ["A7县某学校乱收费", "某学校乱收费"]  # the second names no place: the default city
    out = route_hits(ranked, texts, ["教育局", "教育局"], ["A7县", "A7县"])
    assert out["n"] == 2
    assert out["top1"] == pytest.approx(0.5)
    assert out["place_right_when_department_right"] == pytest.approx(0.5)
    assert route_hits(ranked, texts, ["教育局", "教育局"], [None, None])["n"] == 0
