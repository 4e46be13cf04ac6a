"""Shared fixtures: an isolated models folder, the real bundle trained once per session, a tiny bundle.

Every test session uses its own temporary models folder (``MINYI_MODELS``) and MLflow store, so the
developer's ``models/`` and ``mlflow.db`` are never touched.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_models(tmp_path_factory: pytest.TempPathFactory):
    """``MINYI_MODELS`` and ``MLFLOW_TRACKING_URI`` point into a session temp folder."""
    from minyi_nlp.config import get_settings

    root = tmp_path_factory.mktemp("models")
    mlflow_dir = tmp_path_factory.mktemp("mlflow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINYI_MODELS", str(root))
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{mlflow_dir / 'mlflow.db'}")
        mp.delenv("MINYI_BUNDLE", raising=False)
        get_settings.cache_clear()
        yield root
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prepared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real prepare stage (de-duplicated appeals, train split, raw-text eval split) in a temp folder."""
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import run_prepare

    out = tmp_path_factory.mktemp("processed")
    run_prepare(load_params().prepare, out)
    return out


@pytest.fixture(scope="session")
def trained(isolated_models: Path, prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The real default bundle (encoder + every head, the project's parameters and data), trained once per
    session into the session's models folder and served there. Returns the build result."""
    from minyi_nlp.dispatch.build import train_bundle
    from minyi_nlp.params import load_params

    reports = tmp_path_factory.mktemp("reports")
    return train_bundle(load_params(), processed_dir=prepared_dir, reports_dir=reports, track=False)


@pytest.fixture(scope="session")
def bundle_dir(trained) -> Path:
    return trained.bundle_dir


@pytest.fixture(scope="session")
def real_dispatcher(bundle_dir: Path):
    from minyi_nlp.dispatch import Dispatcher

    return Dispatcher.load(bundle_dir)


@pytest.fixture(scope="session")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real bundle (see ``bundle_helpers``), fitted in about a second."""
    from bundle_helpers import build_tiny_bundle

    return build_tiny_bundle(tmp_path_factory.mktemp("tiny") / "tiny")


@pytest.fixture(scope="session")
def tiny_dispatcher(tiny_bundle_dir: Path):
    from minyi_nlp.dispatch import Dispatcher

    return Dispatcher.load(tiny_bundle_dir)
