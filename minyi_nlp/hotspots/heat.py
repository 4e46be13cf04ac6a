"""The heat index of a group of appeals (热度指数): how many citizens, how much support, how recent, how fast.

For a group with ``N`` appeals from ``C`` distinct citizens (an appeal without a user counts as its own
citizen), ``L`` likes and ``D`` dislikes in total (0 where the input has none), first and last appeal
``t₀``, ``t₁``, and the reference time ``T`` (``--until``, else the latest appeal of the input)::

    support  = C + 0.5 · (N − C) + 2 · ln(1 + max(0, L − D))        repeats by one citizen count half; votes count
                                                                      on a log scale (2,000 likes ≈ 15 citizens)
    recency  = 0.5 + 0.5 · 2^(−(T − t₁) / 30 days)                   1 today, 0.75 a month ago, never under 0.5
    burst    = 1 + 0.5 · 7 / (7 + (t₁ − t₀) in days)                1.5 when all came the same day, → 1 over months
    growth   = 1 + 0.5 · min(1, max(0, (n₇ − n₁₄) / max(1, n₁₄)))    n₇: appeals in the 7 days up to T,
                                                                      n₁₄: in the 7 days before those
    heat     = support × recency × burst × growth

Every weight is a :class:`~minyi_nlp.hotspots.params.HotspotParams` field (``repeat_weight``,
``likes_weight``, ``half_life_days``, ``recency_floor``, ``burst_days``, ``burst_weight``,
``growth_days``, ``growth_weight``). Groups without any time get recency, burst and growth 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minyi_nlp.hotspots.params import HotspotParams

__all__ = ["NO_TIME", "group_table"]

NO_TIME = np.iinfo(np.int64).min  # int64 seconds: time unknown
_DAY = 86400.0


def group_table(
    labels: np.ndarray,
    times: np.ndarray,
    citizens: np.ndarray,
    likes: np.ndarray,
    dislikes: np.ndarray,
    params: HotspotParams,
    reference: int | None = None,
) -> pd.DataFrame:
    """One row per group with its counts, time range, heat components and heat, hottest first.

    ``times`` are int64 seconds since the epoch (``NO_TIME`` = unknown), ``citizens`` int64 keys (one per
    distinct citizen). ``reference`` defaults to the latest known time. Columns: ``group, n, citizens,
    likes, dislikes, start, end, span_days, age_days, recent, prior, support, recency, burst, growth, heat``
    (``start``/``end``/``age_days`` are NaN/None without a time).
    """
    known = times != NO_TIME
    if reference is None:
        reference = int(times[known].max()) if known.any() else None
    frame = pd.DataFrame(
        {
            "group": labels,
            "citizen": citizens,
            "likes": likes.astype(np.int64),
            "dislikes": dislikes.astype(np.int64),
            "t": np.where(known, times, np.nan).astype(np.float64),
        }
    )
    g = params.growth_days * _DAY
    if reference is not None:
        frame["recent"] = (frame["t"] > reference - g) & (frame["t"] <= reference)
        frame["prior"] = (frame["t"] > reference - 2 * g) & (frame["t"] <= reference - g)
    else:
        frame["recent"] = frame["prior"] = False
    by = frame.groupby("group", sort=False)
    table = by.agg(
        n=("citizen", "size"),
        citizens=("citizen", "nunique"),
        likes=("likes", "sum"),
        dislikes=("dislikes", "sum"),
        start=("t", "min"),
        end=("t", "max"),
        recent=("recent", "sum"),
        prior=("prior", "sum"),
    ).reset_index()
    votes = np.maximum(0, table["likes"] - table["dislikes"])
    repeats = table["n"] - table["citizens"]
    table["support"] = table["citizens"] + params.repeat_weight * repeats + params.likes_weight * np.log1p(votes)
    span = ((table["end"] - table["start"]) / _DAY).fillna(0.0)
    table["span_days"] = span
    if reference is not None:
        table["age_days"] = (reference - table["end"]) / _DAY
        recency = params.recency_floor + (1 - params.recency_floor) * np.power(
            2.0, -table["age_days"].clip(lower=0) / params.half_life_days
        )
        table["recency"] = recency.fillna(1.0)
    else:
        table["age_days"] = np.nan
        table["recency"] = 1.0
    table["burst"] = np.where(
        table["start"].notna(), 1 + params.burst_weight * params.burst_days / (params.burst_days + span), 1.0
    )
    rise = (table["recent"] - table["prior"]) / np.maximum(1, table["prior"])
    table["growth"] = 1 + params.growth_weight * rise.clip(lower=0, upper=1)
    table["heat"] = table["support"] * table["recency"] * table["burst"] * table["growth"]
    return table.sort_values(["heat", "n", "group"], ascending=[False, False, True], kind="stable").reset_index(
        drop=True
    )
