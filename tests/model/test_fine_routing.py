"""Finer routing on the real bundle (slow: trains once): sub-categories consistent with their parents, the
deadline read with the finest sure key, the place the text names, and 政法 matters routed to 公安."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.slow

RECEIVED = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
GAS = "A市A3区洋湖街道某小区楼道里燃气泄漏，味道很大，随时可能爆炸，请马上派人来"


def _routes(s, k: int = 3) -> list[tuple[str, str]]:
    return [(d.department, d.jurisdiction) for d in s.departments[:k]]


def test_a_gas_leak_is_urgent_due_within_the_hour_its_key_named(real_dispatcher):
    s = real_dispatcher.suggest(None, GAS, received_at=RECEIVED)
    assert s.urgent and s.needs_review
    # 燃气供应 sets urgent_hours: 1 in sla.yaml; the reason names the key that decided it
    assert timedelta(0) < s.due_at - RECEIVED <= timedelta(hours=1), s.due_reason
    assert "燃气供应" in s.due_reason and "小时" in s.due_reason
    assert s.subcategories[0].path.startswith("城乡建设/城市建设和市政管理")


def test_subcategories_are_paths_best_first_child_never_above_parent(real_dispatcher):
    texts = [GAS, "A5区某小区楼下有人聚众赌博，报警后派出所一直不出警", "A7县某学校乱收补课费"]
    for s in real_dispatcher.suggest_many([(None, t) for t in texts], received_at=RECEIVED):
        scores = [x.score for x in s.subcategories]
        assert len(scores) >= 3 and scores == sorted(scores, reverse=True)
        shown = {x.path: x.score for x in s.subcategories}
        for path, score in shown.items():
            assert path.count("/") <= 2 and all(path.split("/")), path
            parent = path.rsplit("/", 1)[0]
            if parent != path and parent in shown:
                assert score <= shown[parent] + 1e-9, (path, score, shown[parent])


def test_noise_at_a_named_street_goes_to_that_street_or_its_district(real_dispatcher):
    s = real_dispatcher.suggest(None, "A3区洋湖街道某小区楼下夜宵店噪音扰民，每晚吵到凌晨两点", received_at=RECEIVED)
    assert s.jurisdiction == "A3区洋湖街道"
    assert all(j in ("A3区洋湖街道", "A3区") for _, j in _routes(s)), _routes(s)
    assert not s.urgent
    town = real_dispatcher.suggest(None, "A7县黄兴镇一家石材厂噪音扰民，每天从早到晚切石头", received_at=RECEIVED)
    assert _routes(town)[0][1] in ("A7县黄兴镇", "A7县"), _routes(town)
    assert ("街道办事处", "A7县黄兴镇") not in _routes(town, 5)  # a township is no 街道


@pytest.mark.parametrize("text", ["B9市阳三街道自来水停水三天无人处理", "B9市某小区物业乱收费，业主多次投诉无果"])
def test_an_appeal_in_b9_is_never_routed_to_a(real_dispatcher, text):
    s = real_dispatcher.suggest(None, text, received_at=RECEIVED)
    assert s.jurisdiction.startswith("B9市")
    assert s.departments and all(not d.jurisdiction.startswith("A") for d in s.departments), _routes(s, 10)


@pytest.mark.parametrize(
    "text",
    [
        "A5区某小区楼下有人聚众赌博，晚上还打架斗殴，报警后派出所一直不出警",
        "我家电动车昨晚在小区被偷了，报警后派出所说没有监控查不了",
        "A2区有人在网上诈骗，骗走我两万元，希望公安机关立案侦查",
    ],
)
def test_a_police_matter_goes_to_the_police(real_dispatcher, text):
    s = real_dispatcher.suggest(None, text, received_at=RECEIVED)
    assert s.departments[0].department == "公安局", _routes(s)
    assert s.subcategories[0].path.startswith("政法/"), s.subcategories[:3]
    assert any("政法/" in r for r in s.departments[0].reasons), s.departments[0].reasons


def test_the_department_report_compares_routing_with_and_without_subcategories(trained):
    routing = trained.metrics["routing"]
    without = routing["without_subcategories"]
    assert set(without) >= {"blend", "duty_list", "model"}
    # the duty list read with the finest sure keys knows more than the seven 一级
    assert routing["methods"]["duty_list"]["top3"] > without["duty_list"]["top3"]


@pytest.mark.parametrize(
    ("text", "first", "also"),
    [
        (GAS, "燃气企业", "住房和城乡建设局"),
        ("A3区洋湖街道一栋居民楼着火了，浓烟很大，楼上还有人被困", "消防救援", "应急管理局"),
        ("我家五岁的孩子在A1区万达广场走失了，穿红色外套，求助", "公安局", None),
        ("小区电梯困人半小时了，物业电话一直打不通", "市场监督管理局", None),
    ],
)
def test_an_urgent_hazard_goes_first_to_those_who_act_on_it(real_dispatcher, text, first, also):
    """Whatever the topic the words suggest (a gas leak reads like pollution to the heads), a flagged hazard's
    first responder (hazards.yaml) leads the route list, with the hazard named in the reason, and its second is
    among the routes shown. (The responders are mixed in, not forced: for the gas leak the second one, 住建局,
    ranks 3rd or 4th next to 城管 and 街道办 depending on the trained encoder; scores within 0.02 of each other.)"""
    s = real_dispatcher.suggest(None, text, received_at=RECEIVED)
    assert s.urgent, s.urgency
    assert s.departments[0].department == first, _routes(s, 5)
    assert s.departments[0].reasons[0].startswith("险情联动: "), s.departments[0].reasons
    if also is not None:
        assert also in [d.department for d in s.departments], _routes(s, 5)


def test_an_ordinary_appeal_has_no_hazard_route(real_dispatcher):
    s = real_dispatcher.suggest(None, "A3区某小区门口路灯不亮好几天了，晚上出行不便", received_at=RECEIVED)
    assert not s.urgent
    assert not any(r.startswith("险情联动") for d in s.departments for r in d.reasons), _routes(s, 5)
