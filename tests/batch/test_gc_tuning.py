"""A batch process keeps its loaded model out of the garbage collector's walks."""

from __future__ import annotations

import gc

from minyi_nlp.batch.gc_tuning import freeze_loaded


def test_objects_alive_at_load_are_frozen_and_garbage_is_not():
    model = {"vocabulary": [str(i) for i in range(1000)]}
    cycle: list = []
    cycle.append(cycle)
    ref = id(cycle)
    del cycle  # garbage before the freeze: collected, not frozen
    try:
        freeze_loaded()
        assert gc.get_freeze_count() >= len(model["vocabulary"]) // 10
        assert all(id(o) != ref for o in gc.get_objects())
    finally:
        gc.unfreeze()
