"""Shared fixtures for the data tests: every declared raw source is loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from minyi_nlp.config import get_settings
from minyi_nlp.data import LoadResult, load_source, source_specs

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    path = get_settings().raw_dir
    if not path.is_dir():
        pytest.skip(f"raw data not present at {path}")
    return path


@pytest.fixture(scope="session")
def loaded(raw_dir: Path) -> dict[str, LoadResult]:
    """name -> LoadResult for every source in sources.yaml (the xlsx files are read once)."""
    return {name: load_source(name, raw_dir=raw_dir) for name in source_specs()}


@pytest.fixture()
def small_csv() -> Path:
    return FIXTURES / "appeals_small.csv"
