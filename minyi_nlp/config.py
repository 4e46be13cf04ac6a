"""Settings (pydantic-settings, ``MINYI_`` env prefix) and paths derived from the package."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
RESOURCES_DIR = PACKAGE_DIR / "resources"


class Settings(BaseSettings):
    """Runtime settings; every field can be overridden with ``MINYI_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="MINYI_", extra="ignore")

    project_dir: Path = PROJECT_DIR
    segmenter: Literal["jieba", "rjieba"] = "rjieba"
    max_content_chars: int = 20_000
    models: Path | None = None  # the models folder (default: <project>/models)
    bundle: str | None = None  # serve this bundle (a name under models/bundles/ or a path) instead of the promoted one
    mlflow_tracking_uri: str | None = None

    @property
    def data_dir(self) -> Path:
        return self.project_dir / "data"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def processed_dir(self) -> Path:
        return self.data_dir / "processed"

    @property
    def models_dir(self) -> Path:
        return self.models or self.project_dir / "models"

    @property
    def reports_dir(self) -> Path:
        return self.project_dir / "reports"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached; call ``get_settings.cache_clear()`` in tests)."""
    return Settings()
