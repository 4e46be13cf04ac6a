"""Urgency in the dispatcher on the tiny bundle: the flag, the deadline in hours, the review reason naming
the hazard, the fields of a suggestion and of the batch output, and the weight/threshold choice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from minyi_nlp.dispatch.urgency import UrgencyConfig, choose, choose_out_of_fold, mix

RECEIVED = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)  # a Wednesday, a working day

URGENT = [
    ("A3区洋湖街道某小区燃气泄漏，随时可能爆炸", "gas"),
    ("A5区某大厦电梯困人，已经半个小时没人来", "lift"),
    ("A7县某化工厂夜间把危险化学品废水直接倒进河里，河里的鱼都死了", "hazardous_chemical"),
]
ORDINARY = ["A2区楼下烧烤店噪音扰民，每天闹到凌晨", "A1区小区物业乱收费，要求公开账目", "A3区学校补课乱收费"]


@pytest.mark.parametrize(("text", "kind"), URGENT)
def test_a_hazard_is_urgent_due_in_hours_and_always_reviewed(tiny_dispatcher, text, kind):
    s = tiny_dispatcher.suggest(None, text, received_at=RECEIVED)
    assert s.urgent
    assert s.due_at is not None and s.due_at.tzinfo is not None
    assert timedelta(0) < s.due_at - RECEIVED <= timedelta(hours=2)
    assert s.needs_review
    assert s.review_reasons[0].startswith("紧急: ")
    assert kind in s.urgency.kinds
    name = tiny_dispatcher.urgency.lexicon.kinds[kind]
    assert name in s.review_reasons[0]  # the reason names the hazard in Chinese
    d = s.as_dict()
    assert d["urgent"] is True and kind in d["urgency"]["kinds"] and d["urgency"]["score"] >= 0.5


@pytest.mark.parametrize("text", ORDINARY)
def test_a_nuisance_is_not_urgent_and_due_in_days(tiny_dispatcher, text):
    s = tiny_dispatcher.suggest(None, text, received_at=RECEIVED)
    assert not s.urgent
    assert s.due_at - RECEIVED >= timedelta(days=1)
    assert not any(r.startswith("紧急") for r in s.review_reasons)
    assert s.urgency.kinds == [] and s.as_dict()["urgency"]["score"] < 0.5


def test_a_denied_or_past_hazard_is_not_urgent(tiny_dispatcher):
    texts = ["A3区某小区去年发生过燃气泄漏，现在已经修好了，咨询一下燃气费怎么交",
             "A2区请问如何预防燃气泄漏"]
    for s in tiny_dispatcher.suggest_many([(None, t) for t in texts], received_at=RECEIVED):
        assert not s.urgent, s.urgency


class _UrgentSla:
    """The lists, but every category's SLA entry is urgent."""

    def __init__(self, lists) -> None:
        self._lists = lists

    def __getattr__(self, name: str):
        return getattr(self._lists, name)

    def sla_for(self, category):
        from minyi_nlp.routing.lists import Sla

        return Sla(1, True, None)


def test_an_urgent_sla_topic_keeps_its_days_but_does_not_flag(tiny_dispatcher):
    """A topic the SLA list marks urgent gives its short deadline in working days; only the urgency flag
    makes an appeal urgent (a question about the gas bill is no gas leak)."""
    from minyi_nlp.dispatch import Dispatcher

    dispatcher = Dispatcher(tiny_dispatcher.bundle, lists=_UrgentSla(tiny_dispatcher.lists))
    s = dispatcher.suggest(None, ORDINARY[1], received_at=RECEIVED)
    assert not s.urgent and not s.urgency.urgent
    assert s.due_at - RECEIVED > timedelta(hours=2) and "1 个工作日" in s.due_reason


def test_without_an_urgency_head_the_lexicon_flags_alone(tiny_bundle_dir):
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.models.bundle import load_bundle

    bundle = load_bundle(tiny_bundle_dir)
    del bundle.heads["urgency"]
    dispatcher = Dispatcher(bundle)
    assert dispatcher.urgency.config == UrgencyConfig(1.0, dispatcher.urgency.lexicon.flag_at)
    gas, noise = dispatcher.suggest_many([(None, URGENT[0][0]), (None, ORDINARY[0])], received_at=RECEIVED)
    assert gas.urgent and gas.urgency.model is None and not noise.urgent


def test_batch_output_carries_urgency(tiny_dispatcher):
    import pandas as pd

    from minyi_nlp.batch.predict import predict_frame

    valid = pd.DataFrame({"id": ["1", "2"], "source": "x.csv", "row": [1, 2], "title": [None, None],
                          "content": [URGENT[0][0], ORDINARY[0]], "category": [None, None]})
    out = predict_frame(tiny_dispatcher, valid, 2).to_pandas()
    assert out["urgent"].tolist() == [True, False]
    assert "燃气" in out.loc[0, "urgency_hazards"] and pd.isna(out.loc[1, "urgency_hazards"])
    assert out.loc[0, "urgency_score"] > 0.5 > out.loc[1, "urgency_score"]
    assert out.loc[0, "review_reasons"].startswith("紧急: ")
    assert "due_at" not in out  # no time of receipt in a re-classification: the output does not depend on the clock


# --------------------------------------------------------------------------- choosing weight and threshold


def _synthetic(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """40 urgent / 360 ordinary: the model separates them well, the lexicon poorly."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(40, int), np.zeros(360, int)]
    model = np.clip(np.where(y == 1, 0.7, 0.2) + rng.normal(0, 0.12, len(y)), 0, 1)
    lexicon = np.clip(np.where(y == 1, 0.6, 0.4) + rng.normal(0, 0.3, len(y)), 0, 1)
    return y, model, lexicon


def test_choose_keeps_recall_and_prefers_the_better_scorer():
    y, model, lexicon = _synthetic()
    best = choose(y, model, lexicon, [0.0, 0.5, 1.0], target=0.95)
    assert best["recall"] >= 0.95
    assert best["weight"] == 0.0  # the model alone beats any mix with a noisy lexicon here
    flags = mix(model, lexicon, best["weight"]) >= best["threshold"]
    assert flags[y == 1].mean() >= 0.95 and best["precision"] == pytest.approx(y[flags].mean())
    assert choose(y, lexicon, model, [0.0, 0.5, 1.0], target=0.95)["weight"] == 1.0


def test_out_of_fold_choice_is_scored_on_unseen_folds():
    y, model, lexicon = _synthetic(1)
    flags, scores, chosen = choose_out_of_fold(y, model, lexicon, [0.0, 0.5, 1.0], target=0.95, folds=5)
    assert len(chosen) == 5 and flags.shape == y.shape
    assert np.allclose(scores, model)  # every fold chose the model alone
    assert 0.8 <= flags[y == 1].mean() <= 1.0  # recall near the target, not guaranteed on unseen folds
