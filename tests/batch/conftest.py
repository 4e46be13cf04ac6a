"""Fixtures for the batch tests: the fake dispatcher, real appeal texts, the trained model."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from batch_fakes import FakeDispatcher


@pytest.fixture()
def fake() -> FakeDispatcher:
    return FakeDispatcher()


@pytest.fixture(scope="session")
def real_texts() -> list[tuple[str, str]]:
    """(label, text) pairs from the real labelled Teddy Cup file."""
    from minyi_nlp.config import get_settings

    path = get_settings().raw_dir / "teddy2020_c" / "fj2_raw_labeled.csv"
    if not path.exists():
        pytest.skip(f"raw data not present at {path}")
    frame = pd.read_csv(path, dtype=str).dropna(subset=["text"])
    return list(zip(frame["label"], frame["text"], strict=True))


@pytest.fixture()
def appeals(real_texts: list[tuple[str, str]]) -> Callable[..., pd.DataFrame]:
    """``appeals(n, chars=60)``: n rows with unique ids, real (truncated) texts and previous labels."""

    def make(n: int, chars: int = 60, prefix: str = "r") -> pd.DataFrame:
        rows = [real_texts[i % len(real_texts)] for i in range(n)]
        return pd.DataFrame(
            {
                "id": [f"{prefix}{i:06d}" for i in range(n)],
                "title": [None if i % 3 else f"标题{i}" for i in range(n)],
                "content": [text[:chars] for _, text in rows],
                "category": [label if i % 4 else None for i, (label, _) in enumerate(rows)],
            }
        )

    return make
