"""A batch process keeps its loaded model out of the garbage collector's walks, and collects its rows less often."""

from __future__ import annotations

import gc

from minyi_nlp.batch.gc_tuning import YOUNG_THRESHOLD, freeze_loaded


def test_objects_alive_at_load_are_frozen_and_garbage_is_not():
    model = {"vocabulary": [str(i) for i in range(1000)]}
    cycle: list = []
    cycle.append(cycle)
    ref = id(cycle)
    del cycle  # garbage before the freeze: collected, not frozen
    thresholds = gc.get_threshold()
    try:
        freeze_loaded()
        assert gc.get_freeze_count() >= len(model["vocabulary"]) // 10
        assert all(id(o) != ref for o in gc.get_objects())
        assert gc.get_threshold() == (max(YOUNG_THRESHOLD, thresholds[0]), *thresholds[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_cycles_made_after_the_freeze_are_still_collected():
    thresholds = gc.get_threshold()
    try:
        freeze_loaded()
        before = gc.get_stats()[0]["collections"]
        for _ in range(YOUNG_THRESHOLD + 10_000):
            cycle: list = []
            cycle.append(cycle)
        assert gc.get_stats()[0]["collections"] > before  # the young generation was still collected
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
