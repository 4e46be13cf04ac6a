"""The ranking maths of dispatch: duty list × category probabilities, blend, temperature (no training)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from minyi_nlp.dispatch import combine_scores, duty_scores, rank_departments
from minyi_nlp.routing.lists import DutyEntry


@dataclass(frozen=True)
class _Dept:
    level: str | None = None


class FakeLists:
    """Two categories with hand-made duty entries (weights already normalised)."""

    version = "test"
    duty = {
        "城乡建设": [DutyEntry("住建局", 0.5, "district"), DutyEntry("城管局", 0.3, "district"),
                     DutyEntry("街道办事处", 0.2, "street")],
        "交通运输": [DutyEntry("交通运输局", 0.7, "city"), DutyEntry("交警", 0.3, "district")],
    }
    departments = {"教育局": _Dept("district"), "公积金中心": _Dept("city")}

    def departments_for(self, category: str) -> list[DutyEntry]:
        if category not in self.duty:
            raise KeyError(category)
        return self.duty[category]


LISTS = FakeLists()


def test_duty_scores_sum_category_times_duty_weight():
    scores, levels = duty_scores({"城乡建设": 0.6, "交通运输": 0.4}, LISTS)
    assert scores == pytest.approx({"住建局": 0.30, "城管局": 0.18, "街道办事处": 0.12, "交通运输局": 0.28,
                                    "交警": 0.12})
    assert sum(scores.values()) == pytest.approx(1.0)
    assert levels["街道办事处"] == "street" and levels["交通运输局"] == "city"


def test_unknown_category_loses_its_mass_instead_of_failing():
    scores, _ = duty_scores({"城乡建设": 0.5, "不存在": 0.5}, LISTS)
    assert sum(scores.values()) == pytest.approx(0.5)


def test_linear_blend_by_hand():
    duty = {"A": 0.6, "B": 0.4}
    model = {"A": 0.2, "C": 0.8}
    assert combine_scores(duty, model, blend=0.5) == pytest.approx({"A": 0.4, "B": 0.2, "C": 0.4})
    assert combine_scores(duty, model, blend=0.25) == pytest.approx({"A": 0.5, "B": 0.3, "C": 0.2})


def test_blend_extremes_and_missing_sides():
    duty = {"A": 0.3, "B": 0.1}  # not normalised: the blend normalises each side first
    model = {"A": 0.2, "C": 0.8}
    assert combine_scores(duty, model, blend=0.0) == pytest.approx({"A": 0.75, "B": 0.25})  # zeros dropped
    assert combine_scores(duty, model, blend=1.0) == pytest.approx({"A": 0.2, "C": 0.8})
    assert combine_scores(duty, None, blend=0.7) == pytest.approx({"A": 0.75, "B": 0.25})
    assert combine_scores({}, model, blend=0.3) == pytest.approx(model)
    assert combine_scores({}, None) == {}


def test_temperature_sharpens_without_reordering():
    base = combine_scores({"A": 0.5, "B": 0.3, "C": 0.2}, None)
    sharp = combine_scores({"A": 0.5, "B": 0.3, "C": 0.2}, None, temperature=0.5)
    flat = combine_scores({"A": 0.5, "B": 0.3, "C": 0.2}, None, temperature=2.0)
    assert sum(sharp.values()) == pytest.approx(1.0) and sum(flat.values()) == pytest.approx(1.0)
    assert sharp["A"] > base["A"] > flat["A"]
    assert sorted(sharp, key=sharp.get) == sorted(base, key=base.get) == sorted(flat, key=flat.get)
    # T = 0.5 squares the scores: 0.25 : 0.09 : 0.04
    assert sharp["A"] == pytest.approx(0.25 / 0.38)


@pytest.mark.parametrize(("blend", "temperature"), [(-0.1, 1.0), (1.5, 1.0), (0.5, 0.0)])
def test_invalid_settings_are_refused(blend, temperature):
    with pytest.raises(ValueError):
        combine_scores({"A": 1.0}, {"A": 1.0}, blend=blend, temperature=temperature)


def test_rank_departments_orders_levels_and_reasons():
    ranked = rank_departments({"城乡建设": 0.9, "交通运输": 0.1}, LISTS, {"城管局": 0.9, "教育局": 0.1}, blend=0.5)
    names = [r.department for r in ranked]
    # 城管局: 0.5·0.27 + 0.5·0.9 = 0.585; 住建局: 0.5·0.45 = 0.225; 街道: 0.09; 教育局: 0.05 …
    assert names[:3] == ["城管局", "住建局", "街道办事处"]
    assert sum(r.score for r in ranked) == pytest.approx(1.0)
    by_name = {r.department: r for r in ranked}
    assert by_name["城管局"].score == pytest.approx(0.585)
    assert by_name["教育局"].level == "district"  # not in the duty list: the vocabulary's level
    assert any(reason.startswith("职责清单: 城乡建设") for reason in by_name["城管局"].reasons)
    assert any(reason.startswith("部门模型") for reason in by_name["城管局"].reasons)


def test_ties_are_broken_by_name():
    ranked = rank_departments({}, LISTS, {"乙": 0.5, "甲": 0.5})
    assert [r.department for r in ranked] == sorted(["乙", "甲"])


def _reference_rank(probs: dict, model: dict | None, blend: float, temperature: float) -> list[tuple[str, str, float]]:
    """The ranking written out one department at a time (the definition the array code must match)."""
    from minyi_nlp.dispatch.ranking import default_level

    terms: dict[str, list[tuple[float, str]]] = {}
    for category, p in probs.items():
        for e in LISTS.duty.get(category, []):
            terms.setdefault(e.department, []).append((p * e.weight, e.level))
    duty = {d: sum(t for t, _ in ts) for d, ts in terms.items()}
    scores = combine_scores(duty, model, blend=blend, temperature=temperature)
    level = {d: max(ts, key=lambda t: t[0])[1] for d, ts in terms.items()}
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(d, level.get(d) or default_level(d, LISTS), s) for d, s in ranked]


def test_batch_ranking_matches_the_definition_row_by_row():
    import numpy as np

    from minyi_nlp.dispatch.ranking import rank_departments_many

    rng = np.random.default_rng(3)
    rows = []
    for _ in range(200):
        p = rng.dirichlet([1.0, 1.0, 0.3])
        rows.append({k: float(v) for k, v in zip(["城乡建设", "交通运输", "不存在"], p, strict=True) if v > 0.05})
    labels = ["城管局", "教育局", "交通运输局", "公积金中心"]
    model = rng.dirichlet([1.0] * 4, size=200) * (rng.random((200, 1)) > 0.1)  # some rows without a model
    for blend, temperature in [(0.0, 1.0), (0.4, 0.7), (1.0, 2.0)]:
        batch = rank_departments_many(rows, LISTS, model, labels, blend=blend, temperature=temperature, top_k=4,
                                      reasons=False)
        for i, ranked in enumerate(batch):
            expected = _reference_rank(rows[i], dict(zip(labels, model[i].tolist(), strict=True)), blend, temperature)
            got = [(r.department, r.level, r.score) for r in ranked]
            assert [g[:2] for g in got] == [e[:2] for e in expected[:4]]
            assert [g[2] for g in got] == pytest.approx([e[2] for e in expected[:4]], abs=1e-12)
            assert ranked == rank_departments(rows[i], LISTS, dict(zip(labels, model[i].tolist(), strict=True)),
                                              blend=blend, temperature=temperature, top_k=4, reasons=False)


def test_batch_ranking_without_any_mass_gives_no_route():
    from minyi_nlp.dispatch.ranking import rank_departments_many

    assert rank_departments_many([{"不存在": 1.0}, {}], LISTS) == [[], []]


def test_duty_table_holds_every_taxonomy_key_from_the_start():
    """A service's micro-batches keep meeting new sub-category keys; each would rebuild the table's arrays if
    the keys were added on first use. Every key of the taxonomy has its row up front."""
    from minyi_nlp.dispatch.ranking import DutyTable
    from minyi_nlp.routing.lists import load_lists

    lists = load_lists()
    assert lists.category_keys is lists.category_keys  # kept on the lists, not re-derived per look-up
    table = DutyTable(lists)
    arrays = table.arrays()
    keys = sorted(lists.category_keys)
    rows, _ = table.prepare(keys[::7])
    assert table.arrays() is arrays  # nothing new: no rebuild
    for key, row in zip(keys[::7], rows, strict=True):
        try:
            lists.departments_for(key)
        except KeyError:  # a key the duty list cannot resolve has the row −1
            assert row == -1
        else:
            assert row >= 0
    assert len(table._rows) == sum(r >= 0 for r in table.prepare(keys)[0])


def test_responders_of_an_urgent_hazard_are_mixed_in_with_their_reason():
    """score'(d) = (1 − w)·score(d) + w·share(d), share 1/i normalised over the row's responders; rows without
    responders are ranked as before; a responder outside the duty list takes its vocabulary level."""
    from minyi_nlp.dispatch.ranking import rank_departments_many

    rows = [{"城乡建设": 0.9, "交通运输": 0.1}, {"城乡建设": 0.9, "交通运输": 0.1}]
    responders = [{"教育局": "危险A", "交通运输局": "危险A"}, None]
    plain = rank_departments_many(rows, LISTS, reasons=True)
    mixed = rank_departments_many(rows, LISTS, reasons=True, responders=responders, responder_weight=0.5)
    assert mixed[1] == plain[1]
    before = {r.department: r.score for r in plain[0]}
    after = {r.department: r for r in mixed[0]}
    share = {"教育局": 2 / 3, "交通运输局": 1 / 3}
    for name, score in before.items():
        assert after[name].score == pytest.approx(0.5 * score + 0.5 * share.get(name, 0.0))
    assert after["教育局"].score == pytest.approx(1 / 3)  # in no duty entry: the share alone
    assert sum(r.score for r in mixed[0]) == pytest.approx(1.0)
    assert [r.department for r in mixed[0]][0] == "教育局" and after["教育局"].level == "district"
    assert after["教育局"].reasons[0] == "险情联动: 危险A → 教育局"
    assert not any("险情" in reason for r in mixed[0] if r.department not in share for reason in r.reasons)
    # a row with no other mass is routed to its responders alone
    alone = rank_departments_many([{"不存在": 1.0}], LISTS, responders=[{"公积金中心": "危险B"}])
    assert [(r.department, r.level, r.score) for r in alone[0]] == [("公积金中心", "city", pytest.approx(1.0))]
    with pytest.raises(ValueError, match="responder_weight"):
        rank_departments_many(rows, LISTS, responders=responders, responder_weight=1.5)
