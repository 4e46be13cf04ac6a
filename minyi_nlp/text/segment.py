"""Word segmentation of preprocessed appeal text (jieba or rjieba + the domain dictionary).

``Segmenter`` is a small picklable callable for ``TfidfVectorizer(tokenizer=...)``: it stores
only its parameters; the backend tokenizer is built on first call, shared per
(backend, user_dict) within a process, and never pickled, so a fitted pipeline reloads in a
fresh process and rebuilds it there.

Both backends use the same jieba default dictionary, HMM for unknown words (jieba's default),
and the same user dictionary (``resources/userdict.txt``), loaded word by word with
``add_word`` — rjieba has no ``load_userdict`` but its ``add_word(word, freq, tag)`` is
equivalent. Placeholders from ``mask_pii`` (``<PHONE>`` …) are kept as single tokens.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from minyi_nlp.config import RESOURCES_DIR, get_settings
from minyi_nlp.text.pii import PII_KINDS, PLACEHOLDERS

__all__ = [
    "BACKENDS",
    "Segmenter",
    "USERDICT_PATH",
    "STOPWORDS_PATH",
    "cut_function",
    "load_stopwords",
    "read_userdict",
    "tokenize",
]

BACKENDS = ("jieba", "rjieba")
USERDICT_PATH: Path = RESOURCES_DIR / "userdict.txt"
STOPWORDS_PATH: Path = RESOURCES_DIR / "stopwords.txt"

CutFn = Callable[[str], list[str]]

# case-insensitive: TfidfVectorizer(lowercase=True) hands us "<phone>"
_PLACEHOLDER_RE = re.compile("(" + "|".join(f"<{k}>" for k in PII_KINDS) + ")", re.IGNORECASE)
_NO_WORD_RE = re.compile(r"[\W_]+")  # whitespace, punctuation and symbols only
_build_lock = threading.Lock()
_MEMO_SIZE = 1_000_000


def _resource_lines(path: Path) -> list[str]:
    """Non-empty lines of a resource file, without ``#`` comment lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


@lru_cache(maxsize=4)
def read_userdict(path: Path = USERDICT_PATH) -> tuple[tuple[str, int | None, str | None], ...]:
    """``(word, freq, tag)`` entries of a jieba-format user dictionary (``word [freq] [tag]``)."""
    entries = []
    for line in _resource_lines(path):
        parts = line.split()
        word = parts[0]
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[-1] if len(parts) > 1 and not parts[-1].isdigit() else None
        entries.append((word, freq, tag))
    return tuple(entries)


@lru_cache(maxsize=4)
def load_stopwords(path: Path = STOPWORDS_PATH) -> frozenset[str]:
    """The stop-word set (one word per line)."""
    return frozenset(_resource_lines(path))


def _build_jieba(user_dict: bool) -> CutFn:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # silence "Building prefix dict …"
    tok = jieba.Tokenizer()
    tok.initialize()
    if user_dict:
        for word, freq, tag in read_userdict():
            tok.add_word(word, freq, tag)

    def cut(text: str) -> list[str]:
        return tok.lcut(text, HMM=True)

    return cut


def _build_rjieba(user_dict: bool) -> CutFn:
    import rjieba

    tok = rjieba.Jieba()
    if user_dict:
        for word, freq, tag in read_userdict():
            tok.add_word(word, freq, tag)

    def cut(text: str) -> list[str]:
        return tok.cut(text, hmm=True)

    return cut


_cut_cache: dict[tuple[str, bool], CutFn] = {}


def cut_function(backend: str = "jieba", user_dict: bool = True) -> CutFn:
    """The raw cut function (no filtering) for a backend, built once per process and cached."""
    key = (backend, user_dict)
    fn = _cut_cache.get(key)
    if fn is None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown segmenter backend {backend!r}; expected one of {BACKENDS}")
        with _build_lock:
            fn = _cut_cache.get(key)
            if fn is None:
                fn = _build_jieba(user_dict) if backend == "jieba" else _build_rjieba(user_dict)
                _cut_cache[key] = fn
    return fn


class Segmenter:
    """Callable tokenizer: preprocessed text → list of tokens.

    Drops whitespace, punctuation/symbol-only tokens, stop words (if ``stopwords``) and tokens
    shorter than ``min_len``; PII placeholders are always kept whole (also lower-cased ones).
    It does not normalise: call ``preprocess`` first. Use it as
    ``TfidfVectorizer(tokenizer=Segmenter(), lowercase=False, token_pattern=None)``;
    ``get_params``/``set_params`` make ``tokenizer__backend`` searchable in a grid search.
    """

    _PARAMS = ("backend", "user_dict", "stopwords", "min_len")

    def __init__(
        self, backend: str = "jieba", user_dict: bool = True, stopwords: bool = True, min_len: int = 1
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown segmenter backend {backend!r}; expected one of {BACKENDS}")
        self.backend = backend
        self.user_dict = user_dict
        self.stopwords = stopwords
        self.min_len = min_len
        self._cut: CutFn | None = None
        self._stop: frozenset[str] | None = None
        self._memo: dict[str, bool] = {}  # token → kept? (the filter's answer, remembered per token)

    def _setup(self) -> CutFn:
        cut = cut_function(self.backend, self.user_dict)
        self._stop = load_stopwords() if self.stopwords else frozenset()
        self._cut = cut
        return cut

    def _keep(self, token: str) -> bool:
        keep = len(token) >= self.min_len and token not in (self._stop or ()) and not _NO_WORD_RE.fullmatch(token)
        if len(self._memo) < _MEMO_SIZE:
            self._memo[token] = keep
        return keep

    def _filter(self, tokens: list[str]) -> list[str]:
        memo, keep = self._memo, self._keep
        return [t for t in tokens if (memo[t] if t in memo else keep(t))]

    def kept(self, token: str) -> bool:
        """Whether :meth:`__call__` keeps ``token``, one of :meth:`unfiltered`'s tokens (placeholders always)."""
        if self._cut is None:
            self._setup()
        memo = self._memo
        if token in memo:
            return memo[token]
        return token.upper() in PLACEHOLDERS or self._keep(token)

    def unfiltered(self, text: str) -> list[str]:
        """The tokens of ``text`` before any is dropped (placeholders whole): ``self(text)`` is those that
        :meth:`kept` keeps, in order. For a caller that drops and looks tokens up in one pass."""
        cut = self._cut or self._setup()
        if not text:
            return []
        if "<" not in text:
            return cut(text)
        tokens: list[str] = []
        for piece in _PLACEHOLDER_RE.split(text):
            if piece.upper() in PLACEHOLDERS:
                tokens.append(piece)
            elif piece and not piece.isspace():
                tokens.extend(cut(piece))
        return tokens

    def __call__(self, text: str) -> list[str]:
        cut = self._cut or self._setup()
        if "<" not in text:  # fast path: no placeholders
            return self._filter(cut(text)) if text else []
        kept = self.kept
        return [t for t in self.unfiltered(text) if kept(t)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters (scikit-learn style)."""
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params: Any) -> Segmenter:
        """Change parameters (scikit-learn style); the tokenizer is re-resolved on the next call."""
        unknown = set(params) - set(self._PARAMS)
        if unknown:
            raise ValueError(f"invalid parameter(s) for Segmenter: {sorted(unknown)}")
        self.__init__(**{**self.get_params(), **params})  # type: ignore[misc]
        return self

    def __getstate__(self) -> dict[str, Any]:
        return self.get_params()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.get_params() == other.get_params()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(tuple(self.get_params().items()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


@lru_cache(maxsize=2)
def _default_segmenter(backend: str) -> Segmenter:
    return Segmenter(backend=backend)


def tokenize(text: str) -> list[str]:
    """Tokens of preprocessed ``text`` with the default ``Segmenter`` of the configured backend."""
    return _default_segmenter(get_settings().segmenter)(text)
