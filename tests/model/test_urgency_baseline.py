"""The urgency baseline learns from weak labels: directional checks on Chinese appeals."""

from __future__ import annotations

import numpy as np

from minyi_nlp.urgency_model import UrgencyBaseline

PLACES = ["A3区", "洋湖街道", "K2区", "商州区", "仓山区", "B市", "A7县", "丹凤县"]
URGENT = ["燃气泄漏，闻到很浓的煤气味", "电梯突然下坠，把人困在里面", "外墙瓷砖脱落，随时砸到行人",
          "电线裸露在路边，小孩经常经过", "化工厂偷排危化品废水，河里的鱼死了"]
ORDINARY = ["楼下烧烤店噪音扰民", "物业费太贵，要求公开账目", "小区停车位不够", "学校补课乱收费",
            "公交车站点设置不合理"]


def _corpus() -> tuple[list[str], list[int]]:
    texts, y = [], []
    for place in PLACES:
        for t in URGENT:
            texts.append(f"{place}某小区{t}，请尽快处理")
            y.append(1)
        for t in ORDINARY:
            texts.append(f"{place}某小区{t}，请尽快处理")
            y.append(0)
    return texts, y


def test_baseline_ranks_hazards_above_nuisances() -> None:
    texts, y = _corpus()
    model = UrgencyBaseline(min_df=1).fit(texts, y, sample_weight=np.ones(len(y)))
    scores = model.score_texts(["E市新村燃气泄漏了，味道很大", "E市新村楼下烧烤店噪音扰民"])
    assert scores[0] > 0.5 > scores[1]
    assert model.predict(["M市电梯困人"])[0] == 1
    assert model.score_texts(texts).shape == (len(texts),)


def test_baseline_is_deterministic() -> None:
    texts, y = _corpus()
    a = UrgencyBaseline(min_df=1).fit(texts, y).score_texts(texts)
    b = UrgencyBaseline(min_df=1).fit(texts, y).score_texts(texts)
    assert np.allclose(a, b)
