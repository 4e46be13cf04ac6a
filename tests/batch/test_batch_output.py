"""The batch output of a real (tiny) bundle: sub-categories and the urgency flag in their columns."""

from __future__ import annotations

import pandas as pd

from minyi_nlp.batch.predict import output_schema, predict_frame


def test_subcategory_and_urgency_columns(tiny_dispatcher):
    valid = pd.DataFrame({
        "id": ["g", "n"], "source": ["in.csv", "in.csv"], "row": [1, 2], "title": [None, None],
        "content": ["A3区某小区燃气泄漏，闻到很浓的煤气味，随时可能爆炸", "A2区楼下烧烤店噪音扰民，每天闹到凌晨"],
        "category": [None, "环境保护"],
    })
    table = predict_frame(tiny_dispatcher, valid, 3)
    assert table.schema == output_schema(3)
    out = table.to_pandas()
    gas, noise = out.iloc[0], out.iloc[1]
    assert gas["subcategory_1"].startswith("城乡建设/")
    assert "城乡建设/城市建设和市政管理/燃气供应" in {gas["subcategory_1"], gas["subcategory_2"]}
    assert noise["subcategory_1"].startswith("环境保护/")
    for _, row in out.iterrows():  # best first, each a path below a 一级
        scores = [row[f"subcategory_{i}_score"] for i in (1, 2, 3)]
        assert scores == sorted(scores, reverse=True) and all("/" in row[f"subcategory_{i}"] for i in (1, 2, 3))
    assert bool(gas["urgent"]) and bool(gas["needs_review"]) and "燃气" in gas["urgency_hazards"]
    assert not bool(noise["urgent"]) and pd.isna(noise["urgency_hazards"])
    assert gas["urgency_score"] > noise["urgency_score"]


def test_appeal_type_and_place_columns_are_the_service_answers(tiny_dispatcher):
    texts = ["B9市阳三街道的路灯坏了一个月，晚上出行很危险，请尽快维修", "请问A市的公积金怎么提取？"]
    valid = pd.DataFrame({"id": ["p", "q"], "source": ["in.csv"] * 2, "row": [1, 2], "title": [None, None],
                          "content": texts, "category": [None, None]})
    out = predict_frame(tiny_dispatcher, valid, 3).to_pandas()
    for (_, row), text in zip(out.iterrows(), texts, strict=True):
        s = tiny_dispatcher.suggest(None, text)
        assert row["appeal_type"] == s.appeal_type and row["appeal_type_score"] == s.appeal_type_score
        assert row["jurisdiction"] == s.jurisdiction
    assert out.loc[0, "jurisdiction"] == "B9市阳三街道"  # the place the text names, not the default A市


def test_the_summary_counts_urgent_rows_and_appeal_types(tiny_dispatcher):
    from minyi_nlp.batch.summary import Tally, build_summary

    valid = pd.DataFrame({
        "id": ["g", "n", "m"], "source": ["in.csv"] * 3, "row": [1, 2, 3], "title": [None] * 3,
        "content": ["A3区某小区燃气泄漏，闻到很浓的煤气味，随时可能爆炸", "A2区楼下烧烤店噪音扰民，每天闹到凌晨",
                    "请问A市的公积金怎么提取？"],
        "category": [None] * 3,
    })
    table = predict_frame(tiny_dispatcher, valid, 3)
    tally = Tally()
    tally.add_part(table)
    out = table.to_pandas()
    assert tally.urgent == int(out["urgent"].sum()) >= 1
    assert sum(tally.appeal_types.values()) == 3 and tally.appeal_types == out["appeal_type"].value_counts().to_dict()
    fields = dict(output="o", rejects="r", engine="local", workers=1, batch_size=3, top_k=3, model_version="v",
                  files=1, rows_read=3, resumed_rows=0, rows_this_run=3, elapsed_s=1.0, processing_s=1.0,
                  rows_per_s=3.0)
    text = build_summary(tally, **fields).format_text()
    assert f"flagged urgent: {tally.urgent}" in text and "appeal types: " in text


def test_the_output_does_not_depend_on_when_the_job_runs(tiny_dispatcher, monkeypatch):
    """Re-classified rows have no time of receipt: a run after the holiday calendar's last day (every deadline
    beyond it) gives the same rows, with no deadline reason, while the service still hands such an appeal to a
    person."""
    from minyi_nlp.routing.lists import CalendarError

    valid = pd.DataFrame({
        "id": ["g", "n"], "source": ["in.csv"] * 2, "row": [1, 2], "title": [None, None],
        "content": ["A3区某小区燃气泄漏，闻到很浓的煤气味，随时可能爆炸", "A2区楼下烧烤店噪音扰民，每天闹到凌晨"],
        "category": [None, "环境保护"],
    })
    before = predict_frame(tiny_dispatcher, valid, 3).to_pandas()

    def beyond(*args, **kwargs):
        raise CalendarError("no holiday calendar for 2027-01-04")

    monkeypatch.setattr(type(tiny_dispatcher.lists), "due_at", beyond)
    after = predict_frame(tiny_dispatcher, valid, 3).to_pandas()
    pd.testing.assert_frame_equal(before, after)
    assert not after["review_reasons"].fillna("").str.contains("期限").any()
    served = tiny_dispatcher.suggest(None, valid.loc[1, "content"])
    assert served.due_at is None and served.needs_review and any("期限" in r for r in served.review_reasons)
