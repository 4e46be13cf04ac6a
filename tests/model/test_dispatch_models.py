"""Behavioural tests of the department-type and appeal-type heads and the dispatcher that combines them.

Slow: uses the session's real bundle (``trained``: every head trained once on the real data).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dispatcher(real_dispatcher):
    return real_dispatcher


def _routes(s, k: int = 3) -> list[tuple[str, str]]:
    return [(d.department, d.jurisdiction) for d in s.departments[:k]]


# --------------------------------------------------------------------------- department routing


def test_held_out_report_compares_the_three_methods(trained, tmp_path_factory):
    from minyi_nlp.dispatch.build import write_reports

    out = tmp_path_factory.mktemp("reports")
    write_reports(trained.metrics, out)
    report = json.loads((out / "department_eval.json").read_text(encoding="utf-8"))
    methods = report["methods"]
    assert set(methods) == {"duty_list", "model", "blend"}
    assert report["n"] == trained.metrics["department"]["data"]["split"]["test"] > 200
    assert report["top1"] == pytest.approx(methods["blend"]["top1"], abs=1e-4)
    # the trained model must add something over the duty list alone, and the blend must not lose it
    assert methods["model"]["top3"] > methods["duty_list"]["top3"] + 0.1
    assert methods["blend"]["top3"] >= methods["duty_list"]["top3"]
    assert 0.0 <= report["tuning"]["blend"] <= 1.0
    assert "audit" in report["label_note"]
    assert (out / "plots" / "department_topk.png").stat().st_size > 0
    assert (out / "appeal_type_eval.json").exists() and (out / "plots" / "appeal_type_confusion.png").exists()


# --------------------------------------------------------------------------- appeal type


APPEAL_TYPES = [
    ("请问社保怎么转移", "咨询"),
    ("举报某饭店偷排污水", "举报"),
    ("建议在路口增设红绿灯", "建议"),
    ("楼下烧烤店每天营业到凌晨两点，噪音扰民严重，多次反映无人处理", "投诉"),
    ("河道发臭，垃圾漂浮，一直没人管", "投诉"),
]


@pytest.mark.parametrize(("text", "expected"), APPEAL_TYPES)
def test_obvious_appeal_types(dispatcher, text, expected):
    s = dispatcher.suggest(None, text)
    assert s.appeal_type == expected
    assert 0.0 < s.appeal_type_score <= 1.0


def _type_proba(dispatcher, text):
    bundle = dispatcher.bundle
    X, prepared = bundle.encode([text])
    return bundle.predict_proba("appeal_type", X, prepared)[0]


def test_appeal_type_is_width_invariant(dispatcher):
    half = _type_proba(dispatcher, "请问社保怎么转移?电话13812345678")
    full = _type_proba(dispatcher, "请问社保怎么转移？电话１３８１２３４５６７８")
    assert half == pytest.approx(full, abs=1e-9)
    assert half.sum() == pytest.approx(1.0)


def test_appeal_type_report_states_scope_and_rare_class(trained):
    report = trained.metrics["appeal_type"]
    assert "one topic" in report["data"]["note"]
    assert set(report["per_class"]) == {"投诉", "咨询", "建议", "举报", "求助"}
    assert report["per_class"]["求助"]["support"] >= 1
    assert "model_only" in report and report["keyword_weight"] == 0.5


# --------------------------------------------------------------------------- the dispatcher


def test_street_light_goes_to_city_management_or_housing(dispatcher):
    s = dispatcher.suggest("路灯不亮", "A3区洋湖街道某小区门口路灯不亮一个多月了，晚上出行很危险")
    top3 = [d for d, _ in _routes(s)]
    assert {"城市管理和行政执法局", "住房和城乡建设局"} & set(top3), top3
    assert s.jurisdiction.startswith("A3区")


def test_school_fees_go_to_the_county_education_bureau(dispatcher):
    s = dispatcher.suggest(None, "A7县某学校乱收费")
    assert ("教育局", "A7县") in _routes(s), _routes(s)


def test_full_width_and_half_width_give_the_same_departments(dispatcher):
    half = dispatcher.suggest(None, "A3区洋湖街道路灯不亮,电话13812345678,已经3天了!")
    full = dispatcher.suggest(None, "Ａ３区洋湖街道路灯不亮，电话１３８１２３４５６７８，已经３天了！")
    assert _routes(half, 5) == _routes(full, 5)
    assert [d.score for d in half.departments] == pytest.approx([d.score for d in full.departments], abs=1e-9)


def test_scores_form_a_ranked_distribution(dispatcher):
    s = dispatcher.suggest(None, "公交车绕路不进站，司机开车太猛")
    scores = [d.score for d in s.departments]
    assert scores == sorted(scores, reverse=True)
    assert 0 < sum(scores) <= 1.0 + 1e-9
    assert any(r.startswith("部门模型") for d in s.departments for r in d.reasons)


def test_cli_contract_on_a_file_of_raw_unit_names(dispatcher, tmp_path):
    from minyi_nlp.dispatch.evaluate import evaluate_department_file

    path = tmp_path / "labelled.csv"
    pd.DataFrame(
        {
            "text": ["A7县某学校乱收费，要求退还", "A3区某小区门口路灯不亮", "商洛市区公交车不进站",
                     "商州区某小区物业乱收费", "咨询一下"],
            "department": ["A7县教育局", "A3区城管局", "商洛市交通运输局", "商州区住房和城乡建设局", "某某人"],
        }
    ).to_csv(path, index=False)
    out = evaluate_department_file(path, text_col="text", label_col="department", rejects=None,
                                   dispatcher=dispatcher)
    assert out["n"] == 4 and out["rejected_unknown_department"] == 1
    assert 0.0 <= out["top1"] <= out["top3"] <= 1.0
    assert out["top3"] >= 0.5
    assert set(out["methods"]) == {"duty_list", "model", "blend", "served"}
    # served: the dispatcher's own route lists; with no urgent hazard among the rows, the blend's
    assert out["served_note"].endswith(": 0 of 4 rows")
    assert out["methods"]["served"]["top1"] == out["methods"]["blend"]["top1"]
    assert out["methods"]["served"]["top3"] == out["methods"]["blend"]["top3"]
    assert out["routes"]["blend"]["n"] == 4
    json.dumps(out, ensure_ascii=False)  # the CLI prints it as one JSON line
    assert (tmp_path / "labelled.rejects.csv").exists()


def test_held_out_evaluation_reproduces_the_training_report(dispatcher, trained):
    from minyi_nlp.dispatch.evaluate import evaluate_department_file, headline

    out = evaluate_department_file(None, dispatcher=dispatcher)
    report = headline(trained.metrics["routing"])
    assert out["n"] == report["n"]
    assert out["top1"] == pytest.approx(report["top1"], abs=1e-4)
    assert out["top3"] == pytest.approx(report["top3"], abs=1e-4)


def test_appeal_type_comes_with_each_suggestion(dispatcher):
    s = dispatcher.suggest(None, "举报某饭店偷排污水")
    assert s.appeal_type == "举报" and s.as_dict()["appeal_type_score"] is not None
