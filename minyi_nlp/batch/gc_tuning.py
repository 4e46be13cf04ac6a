"""The garbage collector in a batch process: the loaded model is long-lived, so keep it out of every collection,
and let a batch's short-lived rows pile up longer before a collection walks them."""

from __future__ import annotations

import gc

#: young objects allocated (net of those freed) before a collection (CPython's default is 700). A batch of 1,000
#: appeals makes ≈ 30 containers per appeal, nearly all freed by reference counting: at 700 the collector walked
#: them ≈ 20 times per 3,000 appeals. 50,000 took ≈ 8 % off a batch's time, but a batch still holds ≈ 38,000 of
#: them when `suggest_many` returns, and peaks above 50,000: one collection per batch of 1,000, ≈ 5 ms each
#: (14 in 15 batches, 5 µs per appeal). 500,000 is above what a batch of 5,000 holds, so batches trigger none;
#: the predict step leaves no cyclic garbage (none found after 5 batches), and any is still collected.
YOUNG_THRESHOLD = 500_000


def freeze_loaded() -> None:
    """Collect once, then move every object alive now (the model, the lists, the segmenter's dictionary) to
    the permanent generation: the collections that millions of short-lived rows trigger no longer walk them
    (≈ 8 % of a batch's time on 1,000 real appeals). A batch process loads one model and keeps it, so nothing
    frozen here would have become garbage. Then raise the young generation's threshold to
    :data:`YOUNG_THRESHOLD` (the older generations keep theirs): cycles are still collected, less often."""
    gc.collect()
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, young), older, oldest)
