"""Parameters of hot-issue grouping and of the heat index, with the values measured on 附件3 as defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Method = Literal["linkage", "average", "hdbscan"]
Source = Literal["auto", "bundle", "input"]


class HotspotParams(BaseModel):
    """Grouping (vectors, links, windows) and heat-index parameters; see ``minyi_nlp/hotspots/README`` figures.

    Two appeals are linked when ``title_weight · cos(title) + (1 − title_weight) · cos(title + content)``
    of their keyword vectors (the ``title_terms`` / ``body_terms`` heaviest TF-IDF features of each) is at
    least ``threshold``, they were written at most ``max_gap_days`` apart and they do not name two different
    sites. ``linkage`` joins linked appeals strongest link first (single linkage that never joins two
    groups naming different sites); ``average`` and ``hdbscan`` are the in-memory alternatives it was
    compared with.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Method = "linkage"
    encoder: Source = "input"  # fitted on the input's first fit_rows appeals; bundle: the served bundle's
    threshold: float = Field(0.3, gt=0, le=1)
    title_weight: float = Field(0.3, ge=0, le=1)
    title_terms: int = Field(20, ge=1)
    body_terms: int = Field(80, ge=1)
    max_gap_days: float | None = Field(60.0, gt=0)
    sites: bool = True  # never link appeals that name different sites
    body_chars: int = Field(150, ge=0)  # content characters searched for sites after the title
    # scale: rows are featurised in chunks and linked in time-ordered windows of at most this many rows
    chunk_rows: int = Field(5000, ge=100)
    window_rows: int = Field(20000, ge=1000)
    window_overlap: int = Field(5000, ge=0)
    fit_rows: int = Field(10000, ge=100)  # the first rows, which the encoder (source input) is fitted on
    max_in_memory_rows: int = Field(20000, ge=100)  # the average / hdbscan methods need a full matrix
    hdbscan_min_cluster_size: int = Field(3, ge=2)
    hdbscan_min_samples: int = Field(2, ge=1)
    # heat index (minyi_nlp.hotspots.heat)
    repeat_weight: float = Field(0.5, ge=0)
    likes_weight: float = Field(2.0, ge=0)
    half_life_days: float = Field(30.0, gt=0)
    recency_floor: float = Field(0.5, ge=0, le=1)
    burst_days: float = Field(7.0, gt=0)
    burst_weight: float = Field(0.5, ge=0)
    growth_days: float = Field(7.0, gt=0)
    growth_weight: float = Field(0.5, ge=0)
