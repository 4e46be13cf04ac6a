"""Shared fixtures: an isolated project directory and a trained category model per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def prepared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real prepare stage (de-duplicated appeals, train split, raw-text eval split) in a temp folder."""
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import run_prepare

    out = tmp_path_factory.mktemp("processed")
    run_prepare(load_params().prepare, out)
    return out


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory, prepared_dir: Path) -> Path:
    """The real category model trained once per test session on the real training split.

    Uses the project's default parameters and data; writes into a temporary directory so the
    developer's ``models/`` is never touched.
    """
    from minyi_nlp.params import load_params
    from minyi_nlp.train import train_category

    root = tmp_path_factory.mktemp("model")
    res = train_category(load_params(), model_dir=root / "category", processed_dir=prepared_dir, track=False)
    return res.model_dir


@pytest.fixture(scope="session")
def predictor(trained_model_dir: Path):
    from minyi_nlp.predict import CategoryPredictor

    return CategoryPredictor.load(trained_model_dir)
