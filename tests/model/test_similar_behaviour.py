"""Similar appeals on real texts: a reworded resubmission with a phone number is found, other events are not.

The vectors come from the evaluation's stand-in encoder fitted on 400 real 附件3 messages (small, so the
test stays fast); the index runs with its default settings (threshold, window, place penalty).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from minyi_nlp.similar import SimilarIndex, SimilarSettings
from minyi_nlp.similar.evaluate import marks_of, place_of
from minyi_nlp.similar.perturb import all_three
from minyi_nlp.similar.standin import StandInEncoder

T0 = datetime(2019, 12, 1, 10, 0)

LAMP = ("A7县泉塘小塘路路灯太暗，建议提质改造\n小塘路从漓楚路到盼盼路段，沿线楼盘好几个，入住人口逐年增加，然而小塘路"
        "路灯太暗，只有单向路灯。视线不好，车辆行人存在安全隐患，建议县城管局牵头提质改造，增加道路两边双向路灯，路灯瓦数提高。")
LAMP_AGAIN = ("领导您好！A7县小塘路路灯太暗了\n小塘路漓楚路至盼盼路这一段，周边好几个楼盘，住的人越来越多，"
              "可是路灯太暗，只有一边有路灯，晚上看不清，车辆和行人都有安全隐患。建议城管局牵头改造，两边都装路灯，瓦数调高。"
              "联系电话13912345678，谢谢！")
KTV = ("举报A3区柏家塘小区私营KTV严重扰民\n柏家塘小区a区第17栋碧海蓝天音乐吧（KTV）每天晚饭后一直唱到深夜23点以后，"
       "鬼哭狼嚎，低音炮震动，居民无法休息，请相关部门依法处理。")
OTHER_KTV = ("A3区天顶街道燕联小区3栋一KTV噪音扰民\n燕联小区3栋醉开心KTV每天晚上唱到深夜，跑调的歌声和低音炮的"
             "震动让楼上居民无法入睡，恳请相关政府部门为民排忧。")
WATER = ("A3区枫华府邸小区停水7天了！\n我们家住在学士路枫华府邸小区，1月2日晚上开始停水，到今天整整一个礼拜还没有水，"
         "物业和供水公司互相推诿，无人处理。")
OTHER_WATER = ("A5区新建东路白沙啤酒公寓停水超过一个星期，没人管！\n我们是新建东路白沙啤酒公寓的住户，11月4号开始停水，"
               "是室外入户前的水管漏水，供水公司说水费是物业代收的不管，物业也不管。")


@pytest.fixture(scope="module")
def encoder() -> StandInEncoder:
    from minyi_nlp.data import load_source

    frame = load_source("teddy_fj3_hot_issues").frame.sample(400, random_state=0)
    texts = (frame["title"].fillna("") + "\n" + frame["content"].fillna("")).tolist()
    return StandInEncoder(dim=64, min_df=1).fit(texts + [LAMP, KTV, WATER])


def _index(encoder: StandInEncoder, texts: list[str]) -> SimilarIndex:
    X = encoder.transform(texts)
    idx = SimilarIndex(encoder.dim, SimilarSettings(neutral_places=frozenset({"A市"})))
    idx.add([f"s{i}" for i in range(len(texts))], encoder.embed_sparse(X),
            [T0 + timedelta(days=i) for i in range(len(texts))], [place_of(t) for t in texts],
            ["A7县 城市管理和综合执法局", "A3区 公安分局", "A3区 水务局"][: len(texts)], sparse=X,
            landmarks=[marks_of(t) for t in texts])
    return idx


def _ask(encoder: StandInEncoder, idx: SimilarIndex, text: str, days: float = 5) -> list:
    X = encoder.transform([text])
    return idx.query(encoder.embed_sparse(X)[0], at=T0 + timedelta(days=days), jurisdiction=place_of(text),
                     sparse=X, landmarks=marks_of(text))


def test_a_reworded_copy_with_a_phone_number_finds_the_earlier_appeal(encoder):
    idx = _index(encoder, [LAMP, KTV, WATER])
    hits = _ask(encoder, idx, LAMP_AGAIN)
    assert [m.id for m in hits] == ["s0"]
    assert hits[0].route == "A7县 城市管理和综合执法局" and hits[0].jurisdiction == "A7县"


def test_formatting_greeting_and_phone_do_not_hide_a_resubmission(encoder):
    idx = _index(encoder, [LAMP, KTV, WATER])
    for seed in range(5):
        copy = all_three(KTV, np.random.default_rng(seed))
        assert [m.id for m in _ask(encoder, idx, copy)][:1] == ["s1"], copy


def test_the_same_kind_of_matter_at_another_place_is_not_merged(encoder):
    idx = _index(encoder, [LAMP, KTV, WATER])
    assert _ask(encoder, idx, OTHER_KTV) == []
    assert _ask(encoder, idx, OTHER_WATER) == []


def test_an_appeal_older_than_the_window_is_not_returned(encoder):
    idx = _index(encoder, [LAMP, KTV, WATER])
    assert _ask(encoder, idx, LAMP_AGAIN, days=45) == []
