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
