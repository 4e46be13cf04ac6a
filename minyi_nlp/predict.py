"""Load the current category model and rank categories for raw appeal texts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from minyi_nlp.artifacts import LoadedModel, load_model
from minyi_nlp.config import get_settings


def compose_text(title: str | None, content: str | None) -> str:
    """The model's input for one appeal: title then content (as in the Teddy Cup raw file)."""
    parts = [p.strip() for p in (title, content) if isinstance(p, str) and p.strip()]
    return " ".join(parts)


@dataclass(frozen=True)
class Ranked:
    label: str
    score: float


class CategoryPredictor:
    """A loaded, hash-verified category model; safe to share between threads for prediction."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.labels: list[str] = [str(c) for c in self.model.classes_]

    @property
    def version(self) -> str:
        return self.loaded.version

    @property
    def manifest(self) -> dict:
        return self.loaded.manifest

    @classmethod
    def load(cls, model_dir: Path | None = None) -> CategoryPredictor:
        return cls(load_model(model_dir or get_settings().category_model_dir))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(list(texts))

    def rank(self, texts: Sequence[str], top_k: int | None = None) -> list[list[Ranked]]:
        """Categories per text, best first, with calibrated probabilities."""
        proba = self.predict_proba(texts)
        k = top_k or len(self.labels)
        out = []
        for row in proba:
            order = np.argsort(-row)[:k]
            out.append([Ranked(self.labels[i], float(row[i])) for i in order])
        return out

    def explain(self, text: str, label: str, k: int = 5) -> list[tuple[str, float]]:
        """Words of ``text`` that pushed hardest towards ``label`` (empty for models that cannot say)."""
        explain = getattr(self.model, "explain", None)
        return explain(text, label, k) if explain is not None else []
