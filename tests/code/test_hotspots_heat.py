"""The heat index follows its documented formula and moves in the expected directions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minyi_nlp.hotspots.heat import NO_TIME, group_table
from minyi_nlp.hotspots.params import HotspotParams

DAY = 86400
T0 = 1_700_000_000


def _table(labels, times, citizens, likes=None, dislikes=None, reference=None, **params):
    n = len(labels)
    return group_table(
        np.asarray(labels), np.asarray(times, np.int64), np.asarray(citizens, np.int64),
        np.asarray(likes if likes is not None else [0] * n), np.asarray(dislikes if dislikes is not None else [0] * n),
        HotspotParams(**params), reference,
    ).set_index("group")


def test_formula_for_one_group() -> None:
    # group 0: 3 appeals by 2 citizens over 2 days ending 10 days before the reference, 30 likes, 5 dislikes
    times = [T0, T0 + DAY, T0 + 2 * DAY]
    t = _table([0, 0, 0], times, [1, 1, 2], likes=[10, 20, 0], dislikes=[0, 5, 0], reference=T0 + 12 * DAY).loc[0]
    support = 2 + 0.5 * 1 + 2 * math.log1p(25)
    recency = 0.5 + 0.5 * 2 ** (-10 / 30)
    burst = 1 + 0.5 * 7 / (7 + 2)
    assert t["support"] == pytest.approx(support)
    assert t["recency"] == pytest.approx(recency)
    assert t["burst"] == pytest.approx(burst)
    assert t["growth"] == pytest.approx(1.0)  # nothing in the last 14 days
    assert t["heat"] == pytest.approx(support * recency * burst)


def test_more_citizens_are_hotter_than_one_citizen_repeating() -> None:
    times = [T0] * 6
    t = _table([0, 0, 0, 1, 1, 1], times, [1, 2, 3, 9, 9, 9])
    assert t.loc[0, "citizens"] == 3 and t.loc[1, "citizens"] == 1
    assert t.loc[0, "heat"] > t.loc[1, "heat"]


def test_recent_and_growing_groups_are_hotter_and_old_ones_keep_the_floor() -> None:
    ref = T0 + 400 * DAY
    old = [T0, T0 + DAY]
    new = [ref - 9 * DAY, ref - 2 * DAY]  # one appeal in the week before, one in the last week
    t = _table([0, 0, 1, 1], old + new, [1, 2, 3, 4], reference=ref)
    assert t.loc[1, "heat"] > t.loc[0, "heat"]
    assert t.loc[0, "recency"] == pytest.approx(0.5, abs=1e-3)
    assert t.loc[1, "growth"] == pytest.approx(1.0)  # 1 recent vs 1 prior: no growth
    growing = _table([0, 0, 0], [ref - 9 * DAY, ref - 2 * DAY, ref - DAY], [1, 2, 3], reference=ref)
    assert growing.loc[0, "growth"] == pytest.approx(1.5)  # 2 vs 1: +100 %, capped at +50 % heat


def test_groups_without_times_have_neutral_factors() -> None:
    t = _table([0, 0], [NO_TIME, NO_TIME], [1, 2])
    assert (t.loc[0, "recency"], t.loc[0, "burst"], t.loc[0, "growth"]) == (1.0, 1.0, 1.0)
    assert t.loc[0, "heat"] == pytest.approx(2.0)


def test_sorted_hottest_first() -> None:
    t = _table([5, 6, 6, 7], [T0] * 4, [1, 2, 3, 4])
    assert list(t.index)[0] == 6
