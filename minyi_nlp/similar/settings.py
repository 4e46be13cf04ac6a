"""Settings of the similar-appeal search (``MINYI_SIMILAR_*`` environment variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SimilarSettings"]


class SimilarSettings(BaseSettings):
    """How the index stores appeals and when two appeals are the same matter.

    ``threshold`` applies to the re-rank score (sketch cosine, halved when places or landmarks disagree); it
    was chosen on the development half of the hand-labelled 附件3 pairs with the shared encoder (best
    precision at recall ≥ 0.85; see docs/similar.md).
    ``dense_threshold`` applies only when either side has no sparse sketch (dense cosine alone).
    """

    model_config = SettingsConfigDict(env_prefix="MINYI_SIMILAR_", extra="ignore")

    window_days: float = Field(30.0, gt=0, description="look back this many days by default")
    k: int = Field(5, ge=1, le=100, description="matches returned by default")
    threshold: float = Field(0.29, ge=0, le=1, description="same matter when the re-rank score reaches this")
    dense_threshold: float = Field(0.90, ge=0, le=1, description="same, for appeals without a sparse sketch")
    place_penalty: float = Field(0.5, ge=0, le=1, description="score factor when the places differ")
    neutral_places: frozenset[str] = Field(
        frozenset(), description="jurisdictions that agree with any place (the default city: 'no place named')"
    )
    sketch_size: int = Field(64, ge=4, le=1024, description="heaviest sparse features kept per appeal")
    shard_days: float = Field(7.0, gt=0, description="one ANN graph per this many days of received_at")
    candidates: int = Field(100, ge=1, description="dense candidates per shard before the re-rank")
    exact_below: int = Field(4096, ge=0, description="search shards this small exhaustively")
    dtype: Literal["f32", "f16", "i8"] = "i8"
    connectivity: int = Field(16, ge=2)
    expansion_add: int = Field(64, ge=1)
    expansion_search: int = Field(100, ge=1)
    retention_days: float | None = Field(None, gt=0, description="drop shards older than this (bounded memory)")
    max_items: int | None = Field(None, ge=1, description="drop the oldest shards beyond this many appeals")
